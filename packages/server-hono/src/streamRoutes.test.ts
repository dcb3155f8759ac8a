import { expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { streamRoutes } from './streamRoutes.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'


/** The ids of the events a stream of the whole stored run sends first, up to seq 8, its last. */
async function replayedIds(query: string, headers: Record<string, string> = {}): Promise<string[]> {
  const store = new RunStore()
  store.ingest(lines.map((line) => JSON.parse(line)))
  const response = await streamRoutes({ store }).request(`/?run=${RUN}${query}`, { headers })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  while (!text.includes('id: 8\n')) text += (await reader.read()).value ?? ''
  await reader.cancel()
  return [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]!)
}

test('?after= resumes like Last-Event-ID, which wins when both are sent; anything but an integer replays all', async () => {
  expect(await replayedIds('&after=4')).toEqual(['5', '6', '7', '8'])
  expect(await replayedIds('&after=1', { 'Last-Event-ID': '5' })).toEqual(['6', '7', '8'])
  expect(await replayedIds('&after=abc')).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8'])
})

test('the run is checked before it is looked up: 400 for what is no run id, 404 for a run not held', async () => {
  const routes = streamRoutes({ store: new RunStore() })
  const cases: [string, number, string][] = [
    ['/', 400, 'query parameter "run" must be a run id, got ""'],
    ['/?run=a/b', 400, 'query parameter "run" must be a run id, got "a/b"'],
    ['/?run=nope', 404, 'no run nope'],
  ]
  for (const [path, status, error] of cases) {
    const response = await routes.request(path)
    expect([path, response.status, (await response.json()).error]).toEqual([path, status, error])
  }
})
