import { describe, expect, test } from 'vitest'
import { RunStore, liveOverview, runOverview, type EventRecord, type LayerRecord, type WireRecord } from '@sparselab-profiler/core'
import { createApp } from '@sparselab-profiler/server-hono'
import { RUN, deferred, fakeRunsClient, runRecord, sample, serverViews, soon, until } from './fakeRunsClient.test-support.js'
import { LiveRunObserver } from './LiveRunObserver.js'
import { runsClient } from './runsClient.js'
import type { Schedule } from './nextFrame.js'

/** A schedule the test runs by hand: `flush` runs what is due, as the next frame would. */
function frames() {
  const due: (() => void)[] = []
  const schedule: Schedule = (callback) => {
    due.push(callback)
    return () => {
      if (due.includes(callback)) due.splice(due.indexOf(callback), 1)
    }
  }
  return { schedule, flush: () => due.splice(0).forEach((callback) => callback()) }
}

/** Subscribes to `observer`, recording the status of every snapshot it is told of. */
function watch(observer: LiveRunObserver) {
  const statuses: string[] = []
  const unsubscribe = observer.subscribe(() => statuses.push(observer.getSnapshot().status))
  return { statuses, unsubscribe }
}

test('on a real server app: loads the overview, follows the stream, and ends where a fresh overview would', async () => {
  const store = new RunStore({ now: () => 0 })
  store.ingest([runRecord, sample(1), sample(2)])
  const app = createApp({ store })
  const observer = new LiveRunObserver({ client: runsClient({ url: 'http://localhost', fetch: async (url, init) => app.request(url, init) }), run: RUN, schedule: soon })
  const followed: number[] = []
  observer.follow({ record: (record) => followed.push(record.seq), reload: () => followed.push(-1) })
  const { statuses, unsubscribe } = watch(observer)
  await until(() => observer.getSnapshot().status === 'live')

  const event: EventRecord = { type: 'event', run: RUN, seq: 4, step: 30, time: 4, layer: 'fc1', op: 'drop', count: 3, exact: true, algorithm: 'SET', requested: null, rows: null }
  const change: LayerRecord = { type: 'layer', run: RUN, seq: 5, step: 30, time: 5, layer: 'fc2', info: { ...runRecord.layers[1]!, dtype: 'bfloat16' }, reason: 'dtype changed' }
  const live: WireRecord[] = [sample(3), event, change, sample(6), { type: 'end', run: RUN, seq: 7, step: 60, time: 7, status: 'finished' }]
  store.ingest(live)
  await until(() => observer.getSnapshot().data?.lastSeq === 7)
  unsubscribe()

  expect(statuses.slice(0, 2)).toEqual(['connecting', 'live'])
  expect(observer.getSnapshot().data).toEqual({ ...liveOverview(JSON.parse(JSON.stringify(runOverview(store.snapshot(RUN)!, 300)))), liveSamples: 2 })
  expect(followed).toEqual([-1, 3, 4, 5, 6, 7])
})

describe('with a fake client', () => {
  test('records arriving within a frame are shown together, and followers are told each one at once', async () => {
    const { client, streams } = fakeRunsClient({ overview: async () => serverViews([runRecord, sample(1)]).overview })
    const { schedule, flush } = frames()
    const observer = new LiveRunObserver({ client, run: RUN, schedule })
    const followed: number[] = []
    observer.follow({ record: (record) => followed.push(record.seq), reload: () => {} })
    const { statuses } = watch(observer)
    await until(() => statuses.at(-1) === 'live')
    const shown = observer.getSnapshot()

    streams[0]!.send(sample(2))
    streams[0]!.send(sample(3))
    await until(() => followed.length === 2)
    expect(observer.getSnapshot()).toBe(shown) // nothing new on show until the frame
    flush()
    expect(observer.getSnapshot().data!.steps).toEqual([10, 20, 30])
    expect([statuses, followed]).toEqual([['connecting', 'live', 'live'], [2, 3]]) // one snapshot for both records
  })

  test('a reset from the server reloads the overview and resumes the stream after it; followers are told to reload', async () => {
    const overviews = [serverViews([runRecord, sample(1)]).overview, serverViews([runRecord, sample(1), sample(2), sample(3), sample(4)]).overview]
    const { client, streams } = fakeRunsClient({ overview: async () => overviews.shift()! })
    const observer = new LiveRunObserver({ client, run: RUN, schedule: soon })
    const followed: number[] = []
    observer.follow({ record: (record) => followed.push(record.seq), reload: () => followed.push(-1) })
    const { statuses } = watch(observer)
    await until(() => streams.length === 1)
    streams[0]!.send(sample(2))
    streams[0]!.reset()
    await until(() => streams.length === 2)
    streams[1]!.send(sample(5))
    await until(() => observer.getSnapshot().data?.lastSeq === 5)

    expect(streams.map((s) => s.after)).toEqual([1, 4])
    expect(observer.getSnapshot().data!.steps).toEqual([10, 20, 30, 40, 50])
    expect(followed).toEqual([-1, 2, -1, 5])
    expect(statuses.filter((status, i) => status !== statuses[i - 1])).toEqual(['connecting', 'live', 'loading', 'connecting', 'live'])
  })

  test("an overview that fails is the state's error", async () => {
    const { client } = fakeRunsClient({ overview: async () => Promise.reject(new Error('no run run-1')) })
    const observer = new LiveRunObserver({ client, run: RUN })
    watch(observer)
    await until(() => observer.getSnapshot().status === 'error')
    expect(observer.getSnapshot()).toEqual({ data: null, status: 'error', error: 'no run run-1' })
  })

  test('starts with its first subscriber, stops with its last: the stream is closed and later records are not applied', async () => {
    const overview = deferred<ReturnType<typeof serverViews>['overview']>()
    const { client, streams } = fakeRunsClient({ overview: () => overview.promise })
    const observer = new LiveRunObserver({ client, run: RUN, schedule: soon })
    expect(streams.length).toBe(0)
    const first = watch(observer)
    const second = watch(observer)
    overview.resolve(serverViews([runRecord, sample(1)]).overview)
    await until(() => observer.getSnapshot().status === 'live')
    first.unsubscribe()
    expect(streams[0]!.signal!.aborted).toBe(false)
    second.unsubscribe()
    expect(streams[0]!.signal!.aborted).toBe(true)
    expect(observer.getSnapshot().data!.lastSeq).toBe(1)
  })
})
