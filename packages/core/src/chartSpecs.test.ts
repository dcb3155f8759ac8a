import { expect, test } from 'vitest'
import { eventRows, eventsSpec, histogramRows, histogramSpec, sparsityRows, sparsitySpec } from './chartSpecs.js'
import { deriveTotals, formatBytes, formatLayerName } from './totals.js'
import type { EventRecord, SampleRecord } from './schema.js'

const sample: SampleRecord = {
  type: 'sample', run: 'r', seq: 1, step: 40, time: 0, cost_ms: 1, step_ms: 2,
  layers: [
    { name: 'fc1', nnz: 1638, numel: 16384, sparsity: 1 - 1638 / 16384, bytes: 16872, dense_bytes: 65536, hist: { lo: -1, hi: 1, counts: [3, 5] }, nonfinite: 0 },
    { name: 'head', nnz: 2560, numel: 2560, sparsity: 0, bytes: 10240, dense_bytes: 10240, hist: { lo: -0.5, hi: 0.5, counts: [1] }, nonfinite: 0 },
  ],
}

test('histogram rows spell out exact bin edges and counts', () => {
  expect(histogramRows({ lo: -1, hi: 1, counts: [3, 0, 5, 2] }, 'step 40')).toEqual([
    { bin_start: -1, bin_end: -0.5, count: 3, series: 'step 40' },
    { bin_start: -0.5, bin_end: 0, count: 0, series: 'step 40' },
    { bin_start: 0, bin_end: 0.5, count: 5, series: 'step 40' },
    { bin_start: 0.5, bin_end: 1, count: 2, series: 'step 40' },
  ])
})

test('sparsity rows: one per layer per sample', () => {
  expect(sparsityRows([sample])).toEqual([
    { step: 40, layer: 'fc1', sparsity: 1 - 1638 / 16384 },
    { step: 40, layer: 'head', sparsity: 0 },
  ])
})

test('event rows put drops below the axis', () => {
  const drop: EventRecord = { type: 'event', run: 'r', seq: 2, step: 50, time: 0, layer: 'fc1', op: 'drop', count: 467, exact: true, algorithm: 'RigL', requested: 493, rows: null }
  expect(eventRows([drop, { ...drop, seq: 3, op: 'grow' }, { ...drop, seq: 4, layer: 'fc2' }], 'fc1')).toEqual([
    { step: 50, layer: 'fc1', op: 'drop', count: 467, signed: -467 },
    { step: 50, layer: 'fc1', op: 'grow', count: 467, signed: 467 },
  ])
})

test('specs carry their data under named datasets with labelled axes', () => {
  const spec = sparsitySpec(sparsityRows([sample]))
  const [rules, lines] = spec.layer as { data: unknown; encoding: unknown; mark: { type: string } }[]
  expect(rules).toMatchObject({ data: { name: 'event_marks' }, mark: { type: 'rule' } })
  expect(lines!.data).toEqual({ name: 'sparsity' })
  expect((spec.datasets as Record<string, unknown[]>).sparsity).toHaveLength(2)
  expect(lines!.encoding).toMatchObject({ x: { title: 'Training step' }, y: { title: 'Sparsity', axis: { format: '.0%' } } })
  const heatmap = sparsitySpec([], [], 13)
  expect(heatmap).toMatchObject({ mark: { type: 'rect' }, encoding: { y: { field: 'layer' }, color: { aggregate: 'mean' } } })
  expect(histogramSpec([], { layer: 'fc1', step: 40 }).encoding).toMatchObject({ x: { title: 'Weight value' }, y: { title: 'Count' } })
  expect(eventsSpec([], { layer: 'fc1' }).title).toEqual({ text: 'Topology events · fc1' })
})

test('model totals are derived exactly from the layers', () => {
  expect(deriveTotals(sample)).toEqual({
    nnz: 4198, numel: 18944, sparsity: 1 - 4198 / 18944, bytes: 27112, denseBytes: 75776, savedBytes: 48664,
  })
  expect(formatBytes(48664)).toBe('47.5 KiB')
  expect(formatBytes(-335872)).toBe('-328 KiB')
  expect(formatBytes(512)).toBe('512 B')
})

test('a tied weight is named with the modules that share it', () => {
  expect(formatLayerName('decoder', ['encoder.embed', 'head'])).toBe('decoder (also: encoder.embed, head)')
  expect(formatLayerName('fc1', [])).toBe('fc1')
  expect(formatLayerName('fc1')).toBe('fc1') // logs of older profilers carry no aliases
})
