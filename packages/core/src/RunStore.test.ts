import { describe, expect, test } from 'vitest'
import { RunStore } from './RunStore.js'
import type { EventRecord, RunRecord, SampleRecord, WireRecord } from './schema.js'

const RUN = 'r1'
const runRecord: RunRecord = {
  type: 'run', run: RUN, seq: 0, name: 'mlp', started: 1, schema: 1, host: 'node-1', profiler: 'sparselab-profiler 0.1.0', algorithm: null, layers: [], sampler: { every: 10 },
}
const sample = (seq: number, step = seq * 10): SampleRecord => ({
  type: 'sample', run: RUN, seq, step, time: 1, layers: [], cost_ms: 0, step_ms: null,
})
const event = (seq: number): EventRecord => ({
  type: 'event', run: RUN, seq, step: seq, time: 1, layer: 'fc1', op: 'drop', count: 3, exact: true, algorithm: 'SET', requested: 3, rows: null,
})

describe('RunStore.ingest', () => {
  test('acks the highest contiguous seq per run', () => {
    const store = new RunStore()
    expect(store.ingest([runRecord, sample(1), event(2)])).toEqual({ [RUN]: 2 })
  })

  test('ignores duplicates and anything past a gap, so a resend fills the gap exactly once', () => {
    const store = new RunStore()
    store.ingest([runRecord, sample(1)])
    expect(store.ingest([sample(3)])).toEqual({ [RUN]: 1 })
    expect(store.ingest([sample(1), sample(2), sample(3)])).toEqual({ [RUN]: 3 })
    expect(store.snapshot(RUN)!.samples.map((s) => s.seq)).toEqual([1, 2, 3])
  })

  test('persists each accepted record before storing it, and stores nothing a failed write did not keep', () => {
    const written: number[] = []
    const store = new RunStore({
      persist: (record) => {
        if (record.seq === 3) throw new Error('disk full')
        written.push(record.seq)
      },
    })
    store.ingest([runRecord, sample(1)])
    store.ingest([sample(1)]) // a duplicate is neither persisted nor stored again
    expect(() => store.ingest([sample(2), sample(3), sample(4)])).toThrow('disk full')
    expect(written).toEqual([0, 1, 2])
    expect(store.ack(RUN)).toBe(2)
    store.restore([sample(3)]) // read back from disk: stored without being written again
    expect(written).toEqual([0, 1, 2])
    expect(store.ack(RUN)).toBe(3)
  })

  test('answers -1 for records of a run it has never seen, asking for the run record', () => {
    expect(new RunStore().ingest([sample(5)])).toEqual({ [RUN]: -1 })
  })

  test('stops accepting records after the end record', () => {
    const store = new RunStore()
    store.ingest([runRecord, { type: 'end', run: RUN, seq: 1, step: 0, time: 1, status: 'finished' }, sample(2)])
    expect(store.ack(RUN)).toBe(1)
    expect(store.listRuns()[0]).toMatchObject({ run: RUN, status: 'finished' })
  })

  test('notifies subscribers of stored records only', () => {
    const store = new RunStore()
    const seen: number[] = []
    store.subscribe((r) => seen.push(r.seq))
    store.ingest([runRecord, sample(1), sample(1), sample(3)])
    expect(seen).toEqual([0, 1])
  })
})

describe('bounded memory and replay', () => {
  test('thins older samples to its byte budget and reports that replay from before the recent ones is gone', () => {
    // a sample without layers is estimated at 160 bytes: 3 fit in each half of 960
    const store = new RunStore({ maxSampleBytesPerRun: 960 })
    store.ingest([runRecord, ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => sample(s))])
    const snapshot = store.snapshot(RUN)!
    expect(snapshot.samples.map((s) => s.seq)).toEqual([1, 3, 5, 7, 8, 9])
    expect(snapshot.thinning).toEqual({ keepsOneIn: 2, fullFrom: 70 })
    expect(store.recordsAfter(RUN, 5)).toBeUndefined()
    expect(store.recordsAfter(RUN, 6)!.map((r) => r.seq)).toEqual([7, 8, 9])
  })

  test('bounds events by count and by the bytes of their per-row counts', () => {
    const store = new RunStore({ maxEventsPerRun: 100, maxEventBytesPerRun: 2000 })
    const wide = (seq: number): EventRecord => ({ ...event(seq), rows: new Array(100).fill(1) }) // ~964 bytes each
    store.ingest([runRecord, wide(1), wide(2), wide(3)])
    expect(store.snapshot(RUN)!.events.map((e) => e.seq)).toEqual([2, 3])
    expect(store.recordsAfter(RUN, 0)).toBeUndefined()
  })

  test('replays samples and events merged in seq order', () => {
    const store = new RunStore()
    const records: WireRecord[] = [runRecord, sample(1), event(2), event(3), sample(4)]
    store.ingest(records)
    expect(store.recordsAfter(RUN, -1)!.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4])
    expect(store.recordsAfter(RUN, 2)!.map((r) => `${r.type}${r.seq}`)).toEqual(['event3', 'sample4'])
  })
})

describe('liveness', () => {
  test('a run that goes silent without an end record shows as interrupted; a heartbeat keeps it live', () => {
    let now = 1_000
    const store = new RunStore({ staleAfterMs: 30_000, now: () => now })
    store.ingest([runRecord, sample(1)])
    now += 29_000
    expect(store.listRuns()[0]!.status).toBe('live')
    expect(store.touch(RUN)).toBe(1)
    now += 29_000
    expect(store.snapshot(RUN)!.status).toBe('live')
    now += 2_000
    expect(store.listRuns()[0]!.status).toBe('interrupted')
    expect(store.touch('unknown')).toBe(-1)
  })
})
