import { describe, expect, test } from 'vitest'
import { RunStore } from './RunStore.js'
import { layerHistory, runOverview } from './runViews.js'
import type { EventRecord, LayerRecord, RunRecord, SampleRecord } from './schema.js'

const RUN = 'r1'
const layerInfo = (name: string) => ({ name, shape: [4, 4], numel: 16, dtype: 'float32', format: 'dense_masked' as const, mask_source: 'torch_prune' as const })
const runRecord: RunRecord = {
  type: 'run', run: RUN, seq: 0, name: 'mlp', started: 1, schema: 1, host: 'h', profiler: 'p', algorithm: null,
  layers: [layerInfo('fc1'), layerInfo('fc2')], sampler: { every: 10 },
}
const layer = (name: string, nnz: number) => ({
  name, nnz, numel: 16, sparsity: 1 - nnz / 16, bytes: 128, dense_bytes: 64, nonfinite: 0, hist: { lo: -1, hi: 1, counts: [nnz, 0] },
})
const sample = (seq: number): SampleRecord => ({
  type: 'sample', run: RUN, seq, step: seq * 10, time: seq, cost_ms: 1, step_ms: 5, layers: [layer('fc1', seq), layer('fc2', 3)],
})
const event = (seq: number, op: 'drop' | 'grow', layerName: string, count: number): EventRecord => ({
  type: 'event', run: RUN, seq, step: 20, time: 1, layer: layerName, op, count, exact: true, algorithm: 'SET', requested: null, rows: null,
})

function snapshot() {
  const store = new RunStore()
  store.ingest([runRecord, sample(1), sample(2), event(3, 'drop', 'fc1', 2), event(4, 'drop', 'fc2', 1), event(5, 'grow', 'fc1', 3), sample(6), sample(7), sample(8)])
  return store.snapshot(RUN)!
}

describe('runOverview', () => {
  test('a sparsity matrix over evenly chosen samples, the first and latest in full, events summed per step', () => {
    const overview = runOverview(snapshot(), 3)
    expect(overview.steps).toEqual([10, 60, 80])
    expect(overview.sparsity).toEqual([[0.9375, 0.8125], [0.625, 0.8125], [0.5, 0.8125]])
    expect([overview.first!.seq, overview.latest!.seq]).toEqual([1, 8])
    expect(overview.events).toEqual([
      { step: 20, layer: 'all layers', op: 'drop', count: 3, signed: -3 },
      { step: 20, layer: 'all layers', op: 'grow', count: 3, signed: 3 },
    ])
    expect(overview.lastSeq).toBe(8)
  })
})

describe('runOverview exploration', () => {
  // fc1 has a mask: ever active one more than its nnz, 3 positions changed since each previous sample; fc2 says neither
  const explored = (seq: number, names = ['fc1']): SampleRecord => ({
    ...sample(seq),
    layers: [...names.map((name) => ({ ...layer(name, seq), active_ever: seq + 1, ...(seq > 1 ? { mask_changed: 3 } : {}) })), layer('fc2', 3)],
  })
  const overviewOf = (samples: SampleRecord[], run = runRecord) => {
    const store = new RunStore()
    store.ingest([run, ...samples.map((s, i) => ({ ...s, seq: i + 1 }))])
    return runOverview(store.snapshot(RUN)!, 3)
  }

  test("at the matrix's steps, each over the sample held just before it, not the previous one shown", () => {
    const overview = overviewOf([1, 2, 6, 7, 8].map((seq) => explored(seq)))
    expect(overview.steps).toEqual([10, 60, 80])
    expect(overview.exploration).toEqual([
      { step: 10, layer: 'fc1', itop: 2 / 16, maskDistance: null },
      { step: 10, layer: 'all layers', itop: 2 / 16, maskDistance: null },
      // step 60 follows step 20 (nnz 2), which the matrix leaves out
      { step: 60, layer: 'fc1', itop: 7 / 16, maskDistance: 3 / (2 + 6) },
      { step: 60, layer: 'all layers', itop: 7 / 16, maskDistance: 3 / (2 + 6) },
      { step: 80, layer: 'fc1', itop: 9 / 16, maskDistance: 3 / (7 + 8) },
      { step: 80, layer: 'all layers', itop: 9 / 16, maskDistance: 3 / (7 + 8) },
    ])
  })

  test('past HEATMAP_LAYER_THRESHOLD layers, the whole model only', () => {
    const names = Array.from({ length: 13 }, (_, i) => `m${i}`)
    const overview = overviewOf([1, 2].map((seq) => explored(seq, names)), { ...runRecord, layers: [...names.map(layerInfo), layerInfo('fc2')] })
    expect(overview.exploration).toEqual([
      { step: 10, layer: 'all layers', itop: (13 * 2) / (13 * 16), maskDistance: null },
      { step: 20, layer: 'all layers', itop: (13 * 3) / (13 * 16), maskDistance: (13 * 3) / (13 * (1 + 2)) },
    ])
  })
})

describe('layerHistory', () => {
  test("one layer's numbers and histograms at each sample, and its own events", () => {
    const history = layerHistory(snapshot(), 'fc1', 500)!
    expect(history.points.map((p) => [p.step, p.nnz, p.hist.counts[0]])).toEqual([[10, 1, 1], [20, 2, 2], [60, 6, 6], [70, 7, 7], [80, 8, 8]])
    expect(history.events.map((e) => `${e.op}${e.count}`)).toEqual(['drop2', 'grow3'])
    expect(layerHistory(snapshot(), 'fc1', 2)!.points.map((p) => p.step)).toEqual([10, 80])
  })

  test('is undefined for a layer the run does not have', () => {
    expect(layerHistory(snapshot(), 'fc9', 10)).toBeUndefined()
  })
})

describe('after layer records', () => {
  const change = (seq: number, name: string, info: LayerRecord['info']): LayerRecord => ({
    type: 'layer', run: RUN, seq, step: seq * 10, time: seq, layer: name, info, reason: 'changed',
  })
  const moved = { ...layerInfo('fc1'), format: 'dense' as const, mask_source: 'inferred_zeros' as const, dtype: 'bfloat16' }

  function changedRun() {
    const store = new RunStore()
    store.ingest([
      runRecord, sample(1),
      change(2, 'fc1', moved), change(3, 'fc3', layerInfo('fc3')), change(4, 'fc2', null),
      { ...sample(5), layers: [layer('fc1', 5), layer('fc3', 4)] },
    ])
    return store.snapshot(RUN)!
  }

  test('the overview has the latest layers (one added as a new matrix column) and the changes', () => {
    const overview = runOverview(changedRun(), 10)
    expect(overview.run.layers).toEqual([moved, layerInfo('fc2'), layerInfo('fc3')])
    expect(overview.sparsity).toEqual([[0.9375, 0.8125, null], [0.6875, null, 0.75]])
    expect(overview.layerChanges.map((c) => c.seq)).toEqual([2, 3, 4])
    expect(overview.untracked).toEqual(['fc2'])
  })

  test("a layer that left keeps its history; one that joined has its own", () => {
    expect(layerHistory(changedRun(), 'fc2', 10)!.points.map((p) => [p.step, p.nnz])).toEqual([[10, 3]])
    expect(layerHistory(changedRun(), 'fc3', 10)!.points.map((p) => [p.step, p.nnz])).toEqual([[50, 4]])
  })
})
