import { describe, expect, test } from 'vitest'
import { RunStore, runOverview, type LayerInfo, type LayerRecord, type RunRecord, type SampleRecord } from '@sparselab-profiler/core'
import { applyLiveRecord, fromOverview, layerInfo } from './useLiveRun.js'

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

/** The page's copy after the overview at seq 1, grown by `live`; and the server's own view of the same records. */
function followed(live: (SampleRecord | LayerRecord)[]) {
  const store = new RunStore()
  store.ingest([runRecord, sample(1, { fc1: 4, fc2: 8 })])
  const data = fromOverview(JSON.parse(JSON.stringify(runOverview(store.snapshot(RUN)!, 300))))
  for (const record of live) applyLiveRecord(data, record)
  store.ingest(live)
  return { data, server: runOverview(store.snapshot(RUN)!, 300) }
}

describe('applyLiveRecord with layer records', () => {
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

  test('the table reads each layer as it is now; a layer joining is counted, so the layer list is rebuilt', () => {
    const { data } = followed(live)
    expect([layerInfo(data, 'fc1')?.dtype, layerInfo(data, 'fc3')?.format, layerInfo(data, 'fc9')]).toEqual(['bfloat16', 'dense_masked', undefined])
    expect(data.layersAdded).toBe(1)
    expect(data.untracked).toEqual(['fc2'])
  })

  test('a layer that comes back is tracked again', () => {
    const { data } = followed([change(2, 'fc2', null), change(3, 'fc2', info('fc2', { device: 'cuda:0' }))])
    expect(data.untracked).toEqual([])
    expect(layerInfo(data, 'fc2')?.device).toBe('cuda:0')
    expect(data.layersAdded).toBe(0)
  })
})
