import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import { h, render } from 'preact'
import { act } from 'preact/test-utils'
import { RUN, fakeRunsClient, runRecord, sample, serverViews, until } from './fakeRunsClient.test-support.js'
import type { LiveRunObserver } from './LiveRunObserver.js'
import type { RunsClient } from './runsClient.js'
import { useLayerHistory } from './useLayerHistory.js'
import { useLiveRun } from './useLiveRun.js'

// The hooks rendered by preact itself, into a bare element stand-in: the components render nothing, so no DOM is needed.
beforeAll(() => {
  vi.stubGlobal('document', {})
  vi.stubGlobal('requestAnimationFrame', (callback: () => void) => setTimeout(callback, 0))
  vi.stubGlobal('cancelAnimationFrame', (id: ReturnType<typeof setTimeout>) => clearTimeout(id))
})
afterAll(() => vi.unstubAllGlobals())

const element = () => ({ childNodes: [], firstChild: null, nodeType: 1, localName: 'div', namespaceURI: 'http://www.w3.org/1999/xhtml' }) as unknown as Element

/** What each render of the hooks returned: the run's status and last seq, and the layer's points. */
function probe(client: RunsClient) {
  const renders: { status: string; lastSeq?: number; layer?: string; points?: number }[] = []
  let observer: LiveRunObserver | undefined
  function Layer({ live, layer }: { live: LiveRunObserver; layer: string }) {
    const { history } = useLayerHistory({ live, layer })
    renders.push({ status: 'layer', layer, points: history?.points.length })
    return null
  }
  function Run({ run, layer }: { run: string | undefined; layer?: string }) {
    const state = useLiveRun({ client, run })
    observer = state.observer
    renders.push({ status: state.status, lastSeq: state.data?.lastSeq })
    return state.observer && state.data && layer ? h(Layer, { live: state.observer, layer }) : null // as the Dashboard shows its inspector
  }
  const parent = element()
  const show = (props: { run: string | undefined; layer?: string }) => act(() => render(h(Run, props), parent))
  return { renders, show, observer: () => observer, unmount: () => act(() => render(null, parent)) }
}

test('useLiveRun renders the observer’s snapshots: loading, live, each new record; without a run, loading and no observer', async () => {
  const { client, streams } = fakeRunsClient({ overview: async () => serverViews([runRecord, sample(1)]).overview })
  const { renders, show, observer, unmount } = probe(client)
  await show({ run: RUN })
  await until(() => renders.at(-1)?.status === 'live')
  streams[0]!.send(sample(2))
  await until(() => renders.at(-1)?.lastSeq === 2)
  expect(renders.filter((r, i) => JSON.stringify(r) !== JSON.stringify(renders[i - 1]))).toEqual([
    { status: 'loading', lastSeq: undefined },
    { status: 'connecting', lastSeq: 1 },
    { status: 'live', lastSeq: 1 },
    { status: 'live', lastSeq: 2 },
  ])

  await show({ run: undefined })
  expect([renders.at(-1), observer()]).toEqual([{ status: 'loading', lastSeq: undefined }, undefined])
  expect(streams[0]!.signal!.aborted).toBe(true) // the run's observer stopped with its last subscriber
  await unmount()
})

test('useLayerHistory fetches the chosen layer, grows it live, and fetches again when the layer changes', async () => {
  const asked: string[] = []
  const { client, streams } = fakeRunsClient({
    overview: async () => serverViews([runRecord, sample(1)]).overview,
    layerHistory: async (layer) => (asked.push(layer), serverViews([runRecord, sample(1)], layer).history),
  })
  const { renders, show, unmount } = probe(client)
  await show({ run: RUN, layer: 'fc1' })
  await until(() => renders.at(-1)?.points === 1)
  streams[0]!.send(sample(2))
  await until(() => renders.some((r) => r.layer === 'fc1' && r.points === 2))
  await show({ run: RUN, layer: 'fc2' })
  await until(() => renders.at(-1)?.layer === 'fc2' && renders.at(-1)?.points === 1)
  expect(asked).toEqual(['fc1', 'fc2'])
  await unmount()
})
