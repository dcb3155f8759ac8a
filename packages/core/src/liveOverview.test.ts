import { describe, expect, test } from 'vitest'
import { MAX_LAYER_CHANGES, applyToOverview, liveLayerInfo, liveOverview, type LiveOverview } from './liveOverview.js'
import { RunStore } from './RunStore.js'
import { runOverview } from './runViews.js'
import type { EventRecord, LayerInfo, LayerRecord, RunRecord, SampleRecord, WireRecord } from './schema.js'

const RUN = 'r1'
const info = (name: string, patch: Partial<LayerInfo> = {}): LayerInfo => ({
  name, shape: [4, 4], numel: 16, dtype: 'float32', format: 'dense_masked', mask_source: 'torch_prune', ...patch,
})
const runRecord: RunRecord = {
  type: 'run', run: RUN, seq: 0, name: 'mlp', started: 1, schema: 1, host: 'h', profiler: 'p', algorithm: null,
  layers: [info('fc1'), info('fc2')], sampler: { every: 10 },
}
const sample = (seq: number, nnz: Record<string, number>): SampleRecord => ({
  type: 'sample', run: RUN, seq, step: seq * 10, time: seq, cost_ms: 1, step_ms: 5,
  layers: Object.entries(nnz).map(([name, n]) => ({
    name, nnz: n, numel: 16, sparsity: 1 - n / 16, bytes: 64, dense_bytes: 64, nonfinite: 0, hist: { lo: -1, hi: 1, counts: [n] },
  })),
})
const change = (seq: number, layer: string, next: LayerInfo | null): LayerRecord => ({
  type: 'layer', run: RUN, seq, step: seq * 10, time: seq, layer, info: next, reason: 'changed',
})
const event = (seq: number, step: number, op: 'drop' | 'grow', count: number): EventRecord => ({
  type: 'event', run: RUN, seq, step, time: seq, layer: 'fc1', op, count, exact: true, algorithm: 'SET', requested: null, rows: null,
})

const fold = (view: LiveOverview, records: readonly WireRecord[], points?: number) =>
  records.reduce((v, record) => applyToOverview(v, record, { points }), view)

/** The page's view after the overview at seq 1 (as the wire carries it), grown by `live`; and the server's own view of the same records. */
function followed(live: WireRecord[]) {
  const store = new RunStore()
  store.ingest([runRecord, sample(1, { fc1: 4, fc2: 8 })])
  const data = fold(liveOverview(JSON.parse(JSON.stringify(runOverview(store.snapshot(RUN)!, 300)))), live)
  store.ingest(live)
  return { data, server: runOverview(store.snapshot(RUN)!, 300) }
}

describe('applyToOverview with layer records', () => {
  const dense = info('fc1', { format: 'dense', mask_source: 'inferred_zeros', dtype: 'bfloat16' })
  const live = [change(2, 'fc1', dense), change(3, 'fc3', info('fc3')), change(4, 'fc2', null), sample(5, { fc1: 2, fc3: 12 })]

  test('the page ends where a fresh overview from the server would', () => {
    const { data, server } = followed(live)
    expect(data.run.layers).toEqual(server.run.layers)
    expect(data.untracked).toEqual(server.untracked)
    expect(data.layerChanges).toEqual(server.layerChanges)
    expect(data.sparsity).toEqual([[0.75, 0.5], [0.875, null, 0.25]]) // the layer that joined is a new column from then on
    expect(server.sparsity).toEqual([[0.75, 0.5, null], [0.875, null, 0.25]])
  })

  test('the table reads each layer as it is now; a layer joining is appended, so the layer list is rebuilt', () => {
    const { data } = followed(live)
    expect([liveLayerInfo(data, 'fc1')?.dtype, liveLayerInfo(data, 'fc3')?.format, liveLayerInfo(data, 'fc9')]).toEqual(['bfloat16', 'dense_masked', undefined])
    expect(data.run.layers.length - runRecord.layers.length).toBe(1)
    expect(data.untracked).toEqual(['fc2'])
  })

  test('a layer that comes back is tracked again', () => {
    const { data } = followed([change(2, 'fc2', null), change(3, 'fc2', info('fc2', { device: 'cuda:0' }))])
    expect(data.untracked).toEqual([])
    expect(liveLayerInfo(data, 'fc2')?.device).toBe('cuda:0')
    expect(data.run.layers.length - runRecord.layers.length).toBe(0)
  })

  test('past the line chart limit a joining layer empties the line rows, as a fresh view of the run would', () => {
    const many = Array.from({ length: 11 }, (_, i) => change(2 + i, `x${i}`, info(`x${i}`)))
    const { data } = followed(many.slice(0, 10))
    expect([data.run.layers.length, data.sparsityRows.length]).toEqual([12, 2])
    expect(applyToOverview(data, many[10]!).sparsityRows).toEqual([])
  })

  test(`keeps the newest ${MAX_LAYER_CHANGES} storage changes once it holds twice as many`, () => {
    const changes = Array.from({ length: 2 * MAX_LAYER_CHANGES + 1 }, (_, i) => change(2 + i, 'fc1', info('fc1', { dtype: `t${i}` })))
    const { data } = followed(changes)
    expect(data.layerChanges.map((c) => c.seq)).toEqual(changes.slice(-MAX_LAYER_CHANGES).map((c) => c.seq))
    expect(liveLayerInfo(data, 'fc1')?.dtype).toBe(`t${2 * MAX_LAYER_CHANGES}`)
  })
})

describe('applyToOverview', () => {
  const start = () => followed([]).data

  test('a sample adds a matrix row, its line rows and the latest sample; earlier rows stay the same objects', () => {
    const before = start()
    const after = applyToOverview(before, sample(2, { fc1: 8, fc2: 4 }))
    expect([after.steps, after.sparsity, after.lastSeq, after.liveSamples, after.latest?.seq, after.first?.seq]).toEqual([
      [10, 20], [[0.75, 0.5], [0.5, 0.75]], 2, 1, 2, 1,
    ])
    expect(after.sparsityRows).toEqual([
      { step: 10, layer: 'fc1', sparsity: 0.75 }, { step: 10, layer: 'fc2', sparsity: 0.5 },
      { step: 20, layer: 'fc1', sparsity: 0.5 }, { step: 20, layer: 'fc2', sparsity: 0.75 },
    ])
    expect(after.sparsityRows[0]).toBe(before.sparsityRows[0])
    expect([before.steps, before.liveSamples, before.lastSeq]).toEqual([[10], 0, 1]) // the old view is left as it was
  })

  test('events are summed per step and operation: a new step appends a row, the same step replaces it', () => {
    const view = fold(start(), [event(2, 20, 'drop', 2), event(3, 20, 'grow', 1), event(4, 20, 'drop', 3), event(5, 30, 'drop', 1)])
    expect(view.events).toEqual([
      { step: 20, layer: 'all layers', op: 'drop', count: 5, signed: -5 },
      { step: 20, layer: 'all layers', op: 'grow', count: 1, signed: 1 },
      { step: 30, layer: 'all layers', op: 'drop', count: 1, signed: -1 },
    ])
  })

  test('sampler and end records; the end sets the status as the server reports it', () => {
    const view = fold(start(), [
      { type: 'sampler', run: RUN, seq: 2, step: 20, time: 2, every: 20, overhead: 0.01 },
      { type: 'end', run: RUN, seq: 3, step: 30, time: 3, status: 'crashed' },
    ])
    expect([view.sampler.map((s) => s.every), view.end?.seq, view.status, view.lastSeq]).toEqual([[20], 3, 'crashed', 3])
  })

  test('a record it already holds leaves the view as it is', () => {
    const view = start()
    expect(applyToOverview(view, sample(1, { fc1: 0 }))).toBe(view)
  })

  test('thins the matrix back to `points` samples, the first and newest kept, once it holds twice as many', () => {
    const view = fold(start(), Array.from({ length: 8 }, (_, i) => sample(2 + i, { fc1: i, fc2: 1 })), 4)
    // 9 samples > 2 × 4: back to 4, evenly, as decimateSamples chooses them
    expect(view.steps).toEqual([10, 40, 60, 90])
    expect(view.sparsity.map((row) => row[0])).toEqual([0.75, 0.875, 0.75, 0.5625])
    expect(view.sparsityRows.map((row) => row.step)).toEqual([10, 10, 40, 40, 60, 60, 90, 90])
    expect([view.liveSamples, view.first?.seq, view.latest?.seq]).toEqual([8, 1, 9])
  })
})
