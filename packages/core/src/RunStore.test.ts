import { describe, expect, test } from 'vitest'
import { RunStore } from './RunStore.js'
import type { EventRecord, LayerInfo, LayerRecord, RunRecord, SampleRecord, WireRecord } from './schema.js'

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

describe('layer records', () => {
  const info = (name: string, patch: Partial<LayerInfo> = {}): LayerInfo => ({
    name, shape: [4, 8], numel: 32, dtype: 'float32', format: 'dense_masked', mask_source: 'torch_prune', ...patch,
  })
  const withLayers: RunRecord = { ...runRecord, layers: [info('fc1'), info('fc2')] }
  const change = (seq: number, layer: string, next: LayerInfo | null, reason = 'changed'): LayerRecord => ({
    type: 'layer', run: RUN, seq, step: seq * 10, time: 1, layer, info: next, reason,
  })
  const dense = info('fc1', { format: 'dense', mask_source: 'inferred_zeros', device: 'cpu', aliases: [] })

  test('replace the layer in place, append a layer the run did not list, and keep one that left listed as untracked', () => {
    const store = new RunStore()
    store.ingest([
      withLayers, sample(1),
      change(2, 'fc1', dense, 'mask removed (torch_prune → inferred_zeros)'),
      change(3, 'fc3', info('fc3', { device: 'cuda:0' }), 'module added'),
      change(4, 'fc2', null, 'module removed'),
    ])
    const snapshot = store.snapshot(RUN)!
    expect(snapshot.run.layers).toEqual([dense, info('fc2'), info('fc3', { device: 'cuda:0' })])
    expect(snapshot.untracked).toEqual(['fc2'])
    expect(snapshot.layerChanges.map((c) => `${c.seq} ${c.layer}: ${c.reason}`)).toEqual([
      '2 fc1: mask removed (torch_prune → inferred_zeros)', '3 fc3: module added', '4 fc2: module removed',
    ])
    expect(withLayers.layers).toEqual([info('fc1'), info('fc2')]) // the run record itself is left as received
    expect(store.recordsAfter(RUN, -1)!.map((r) => `${r.type}${r.seq}`)).toEqual(['run0', 'sample1', 'layer2', 'layer3', 'layer4'])
  })

  test('a layer that left and came back is tracked again, with its new description', () => {
    const store = new RunStore()
    store.ingest([withLayers, change(1, 'fc2', null), change(2, 'fc2', info('fc2', { dtype: 'bfloat16' }))])
    const snapshot = store.snapshot(RUN)!
    expect(snapshot.untracked).toEqual([])
    expect(snapshot.run.layers.map((l) => `${l.name} ${l.dtype}`)).toEqual(['fc1 float32', 'fc2 bfloat16'])
  })

  test('a run without layer records snapshots its run record as received', () => {
    const store = new RunStore()
    store.ingest([withLayers, sample(1)])
    expect(store.snapshot(RUN)!.run).toBe(withLayers)
    expect(store.snapshot(RUN)!).toMatchObject({ layerChanges: [], untracked: [] })
  })

  test('are bounded like events, yet every one is applied; replay from before an evicted one asks for a reload', () => {
    const store = new RunStore({ maxLayerChangesPerRun: 2 })
    store.ingest([withLayers, change(1, 'fc1', info('fc1', { device: 'cuda:0' })), change(2, 'fc2', info('fc2', { device: 'cuda:0' })), change(3, 'fc2', null)])
    const snapshot = store.snapshot(RUN)!
    expect(snapshot.layerChanges.map((c) => c.seq)).toEqual([2, 3])
    expect(snapshot.run.layers.map((l) => `${l.name} ${l.device}`)).toEqual(['fc1 cuda:0', 'fc2 cuda:0'])
    expect(snapshot.untracked).toEqual(['fc2'])
    expect(store.recordsAfter(RUN, 0)).toBeUndefined()
    expect(store.recordsAfter(RUN, 1)!.map((r) => r.seq)).toEqual([2, 3])
  })

  test('by the bytes of their aliases too', () => {
    // each record with 1000 aliases of 12 characters is estimated at 64,396 bytes: 160 + 2 · (3 + 7) + 200 + 2 · 8 + 1000 · (40 + 2 · 12)
    const store = new RunStore({ maxLayerChangeBytesPerRun: 100_000 })
    const tied = (seq: number) => change(seq, 'fc1', info('fc1', { aliases: Array.from({ length: 1000 }, (_, i) => `decoder.${String(i).padStart(4, '0')}`) }))
    store.ingest([withLayers, tied(1), tied(2)])
    expect(store.snapshot(RUN)!.layerChanges.map((c) => c.seq)).toEqual([2])
  })

  test('any sequence of layer records, under any bound, leaves the layers a plain replay computes', () => {
    let seed = 42 // a fixed-seed LCG: 300 random runs, the same ones every time
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n)
    for (let run = 0; run < 300; run++) {
      const kept = 1 + random(4)
      const store = new RunStore({ maxLayerChangesPerRun: kept })
      const changes = Array.from({ length: random(12) }, (_, i) => {
        const name = `fc${random(4)}`
        return change(i + 1, name, random(3) === 0 ? null : info(name, { dtype: ['float32', 'bfloat16', 'float16'][random(3)]! }))
      })
      store.ingest([withLayers, ...changes])
      const expected = new Map(withLayers.layers.map((l) => [l.name, l]))
      const untracked = new Set<string>()
      for (const c of changes) {
        if (c.info) {
          expected.set(c.layer, c.info)
          untracked.delete(c.layer)
        } else if (expected.has(c.layer)) untracked.add(c.layer)
      }
      const snapshot = store.snapshot(RUN)!
      expect(snapshot.run.layers).toEqual([...expected.values()])
      expect(snapshot.untracked).toEqual([...untracked])
      expect(snapshot.layerChanges).toEqual(changes.slice(Math.max(0, changes.length - kept)))
    }
  })

  test('restored from disk, a run ends up exactly as ingested', () => {
    const records: WireRecord[] = [withLayers, sample(1), change(2, 'fc1', dense), change(3, 'fc2', null), sample(4)]
    const live = new RunStore({ now: () => 0 })
    live.ingest(records)
    const restored = new RunStore({ now: () => 0 })
    restored.restore(records)
    expect(restored.snapshot(RUN)).toEqual(live.snapshot(RUN))
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
