import { expect, test } from 'vitest'
import type { EventRecord, LayerHistory } from '@sparselab-profiler/core'
import { RUN, deferred, fakeRunsClient, runRecord, sample, serverViews, soon, until } from './fakeRunsClient.test-support.js'
import { LayerHistoryObserver } from './LayerHistoryObserver.js'
import { LiveRunObserver } from './LiveRunObserver.js'

const event = (seq: number, layer: string): EventRecord => ({
  type: 'event', run: RUN, seq, step: seq * 10, time: seq, layer, op: 'grow', count: 2, exact: true, algorithm: 'SET', requested: null, rows: null,
})

/** A live run at seq 1 whose layer histories the test answers, its stream open, and a layer observer on it. */
async function following(layerHistory: (layer: string) => Promise<LayerHistory>) {
  const { client, streams } = fakeRunsClient({ overview: async () => serverViews([runRecord, sample(1)]).overview, layerHistory })
  const live = new LiveRunObserver({ client, run: RUN, schedule: soon })
  live.subscribe(() => {})
  await until(() => live.getSnapshot().status === 'live')
  const observer = new LayerHistoryObserver({ live, layer: 'fc1', schedule: soon })
  const shown: (LayerHistory | null)[] = []
  const unsubscribe = observer.subscribe(() => shown.push(observer.getSnapshot().history))
  return { live, stream: streams[0]!, streams, observer, shown, unsubscribe }
}

test('records that arrive while the history is fetched are applied to its answer, those it holds are not', async () => {
  const answer = deferred<LayerHistory>()
  const { live, stream, observer } = await following(() => answer.promise)
  for (const record of [sample(2), sample(3), event(4, 'fc1')]) stream.send(record)
  await until(() => live.getSnapshot().data?.lastSeq === 4)
  answer.resolve(serverViews([runRecord, sample(1), sample(2)]).history) // the server held seq 2 already
  await until(() => observer.getSnapshot().history !== null)
  const { history } = observer.getSnapshot()
  expect(history!.points.map((p) => p.step)).toEqual([10, 20, 30])
  expect(history!.events.map((e) => [e.step, e.count])).toEqual([[40, 2]])
  expect(history).toEqual(serverViews([runRecord, sample(1), sample(2), sample(3), event(4, 'fc1')]).history)
})

test("grows with the layer's records; another layer's event is not shown again", async () => {
  const { stream, observer, shown } = await following(async () => serverViews([runRecord, sample(1)]).history)
  await until(() => shown.length === 1)
  stream.send(event(2, 'fc2'))
  stream.send(sample(3))
  await until(() => observer.getSnapshot().history?.lastSeq === 3)
  expect(shown.map((history) => history?.points.length)).toEqual([1, 2])
  expect(observer.getSnapshot().history).toEqual(serverViews([runRecord, sample(1), event(2, 'fc2'), sample(3)]).history)
})

test("is fetched again when the run's overview is reloaded, and stops with its last subscriber", async () => {
  let fetched = 0
  const { stream, streams, observer, unsubscribe } = await following(async () => (fetched++, serverViews([runRecord, sample(1)]).history))
  await until(() => fetched === 1 && observer.getSnapshot().history !== null)
  stream.reset()
  await until(() => fetched === 2 && streams.length === 2)
  unsubscribe()
  streams[1]!.send(sample(2))
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(observer.getSnapshot().history!.lastSeq).toBe(1)
})

test("a history that fails is the state's error", async () => {
  const { observer } = await following(async () => Promise.reject(new Error('run run-1 has no layer "fc1"')))
  await until(() => observer.getSnapshot().error !== null)
  expect(observer.getSnapshot()).toEqual({ history: null, error: 'run run-1 has no layer "fc1"' })
})
