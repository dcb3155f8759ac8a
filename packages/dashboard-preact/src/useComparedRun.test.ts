import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import { h, render } from 'preact'
import { act } from 'preact/test-utils'
import { FLAG_RULES, type Flag, type WireRecord } from '@sparselab-profiler/core'
import { fakeRunsClient, runRecord, sample, serverViews, until } from './fakeRunsClient.test-support.js'
import { useComparedRun, type ComparedRunResult } from './useComparedRun.js'

// The compare view's per-run hook, rendered by preact into a bare element stand-in (it renders nothing).
beforeAll(() => {
  vi.stubGlobal('document', {})
  vi.stubGlobal('requestAnimationFrame', (callback: () => void) => setTimeout(callback, 0))
  vi.stubGlobal('cancelAnimationFrame', (id: ReturnType<typeof setTimeout>) => clearTimeout(id))
})
afterAll(() => vi.unstubAllGlobals())

const element = () => ({ childNodes: [], firstChild: null, nodeType: 1, localName: 'div', namespaceURI: 'http://www.w3.org/1999/xhtml' }) as unknown as Element
/** `record` as run `run` wrote it. */
const of = <T extends WireRecord>(run: string, record: T): T => ({ ...record, run })
const flag = (run: string, to: number): Flag => ({ rule: FLAG_RULES[0], severity: 'warning', layers: ['fc1'], from: 0, to, message: run, fix: '', evidence: {} })

test('each compared run is followed live on its own stream, and its flags are fetched again as its records arrive', async () => {
  const asked: string[] = []
  const { client, streams } = fakeRunsClient({
    overview: async (run) => serverViews([of(run, runRecord), of(run, sample(1))]).overview,
    flags: async (run) => (asked.push(run), [flag(run, asked.length)]),
  })
  const seen: Record<string, ComparedRunResult> = {}
  function Slots({ runs }: { runs: (string | undefined)[] }) {
    // as the compare view calls it: one slot per possible run, some of them empty
    const results = [useComparedRun(client, runs[0]), useComparedRun(client, runs[1]), useComparedRun(client, runs[2])]
    results.forEach((r, i) => (seen[runs[i] ?? `empty ${i}`] = r))
    return null
  }
  const parent = element()
  await act(() => render(h(Slots, { runs: ['b', 'c', undefined] }), parent))
  await until(() => seen.b?.status === 'live' && seen.c?.status === 'live' && seen.b.flags.length > 0 && seen.c.flags.length > 0)
  expect(streams.map((s) => [s.run, s.after])).toEqual([['b', 1], ['c', 1]])
  expect([seen['empty 2']!.observer, seen['empty 2']!.data]).toEqual([undefined, null])
  expect(asked.sort()).toEqual(['b', 'c'])

  streams.find((s) => s.run === 'c')!.send(of('c', sample(2)))
  await until(() => seen.c!.data?.lastSeq === 2 && asked.length === 3)
  expect(asked[2]).toBe('c') // only the run whose records arrived
  expect(seen.b!.data?.lastSeq).toBe(1)
  await until(() => seen.c!.flags[0]?.to === 3)

  await act(() => render(h(Slots, { runs: ['c', undefined, undefined] }), parent))
  expect(streams.find((s) => s.run === 'b')!.signal!.aborted).toBe(true) // a run no longer compared stops
  await act(() => render(null, parent))
})
