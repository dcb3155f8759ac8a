import { expect, test } from 'vitest'
import { buildReport } from './buildReport.js'
import { comparedHistogramRows, eventRows, eventsSpec, flagMarkRows, heatmapRows, itopSpec, maskDistanceSpec, metricRows, metricSpec, histogramRows, histogramSpec, regrowthSpec, sparsityRows, sparsitySpec, type HistogramRow } from './chartSpecs.js'
import { RunStore } from './RunStore.js'
import { deriveTotals, formatBytes, formatLayerName } from './totals.js'
import type { EventRecord, SampleRecord } from './schema.js'

const sample: SampleRecord = {
  type: 'sample', run: 'r', seq: 1, step: 40, time: 0, cost_ms: 1, step_ms: 2,
  layers: [
    { name: 'fc1', nnz: 1638, numel: 16384, sparsity: 1 - 1638 / 16384, bytes: 16872, dense_bytes: 65536, hist: { lo: -1, hi: 1, counts: [3, 5] }, nonfinite: 0 },
    { name: 'head', nnz: 2560, numel: 2560, sparsity: 0, bytes: 10240, dense_bytes: 10240, hist: { lo: -0.5, hi: 0.5, counts: [1] }, nonfinite: 0 },
  ],
}

test("histogram rows spell out exact bin edges, counts and each bin's share of the total", () => {
  expect(histogramRows({ lo: -1, hi: 1, counts: [3, 0, 5, 2] }, 'step 40')).toEqual([
    { bin_start: -1, bin_end: -0.5, count: 3, share: 0.3, series: 'step 40' },
    { bin_start: -0.5, bin_end: 0, count: 0, share: 0, series: 'step 40' },
    { bin_start: 0, bin_end: 0.5, count: 5, share: 0.5, series: 'step 40' },
    { bin_start: 0.5, bin_end: 1, count: 2, share: 0.2, series: 'step 40' },
  ])
  expect(histogramRows({ lo: 0, hi: 1, counts: [0, 0] }).map((r) => r.share)).toEqual([0, 0])
})

test('compared histograms share bin edges; shares make a pruned layer comparable with its start', () => {
  // Step 0: 100 weights on [-1, 1]; step 90: 10 weights on [-2, 2]. Shared edges: -2, -1, 0, 1, 2.
  const rows = comparedHistogramRows([
    { hist: { lo: -1, hi: 1, counts: [20, 30, 30, 20] }, series: 'step 0' },
    { hist: { lo: -2, hi: 2, counts: [1, 4, 4, 1] }, series: 'step 90' },
  ])
  expect(rows.map((r) => [r.series, r.bin_start, r.bin_end, r.count, r.share])).toEqual([
    ['step 0', -2, -1, 0, 0],
    ['step 0', -1, 0, 50, 0.5],
    ['step 0', 0, 1, 50, 0.5],
    ['step 0', 1, 2, 0, 0],
    ['step 90', -2, -1, 1, 0.1],
    ['step 90', -1, 0, 4, 0.4],
    ['step 90', 0, 1, 4, 0.4],
    ['step 90', 1, 2, 1, 0.1],
  ])
})

function edgesBySeries(rows: readonly HistogramRow[]): Map<string, string[]> {
  const edges = new Map<string, string[]>()
  for (const r of rows) edges.set(r.series, [...(edges.get(r.series) ?? []), `${r.bin_start}..${r.bin_end}`])
  return edges
}

test('two histograms drawn together in the report have identical bin edges', () => {
  // The layer's range widens and its bin count changes between the first and the last sample.
  const layer = (step: number, hist: { lo: number; hi: number; counts: number[] }) => {
    const nnz = hist.counts.reduce((a, b) => a + b, 0)
    return { type: 'sample' as const, run: 'r', seq: step / 10 + 1, step, time: step, cost_ms: 1, step_ms: 2,
      layers: [{ name: 'fc1', nnz, numel: 64, sparsity: 1 - nnz / 64, bytes: 4 * nnz, dense_bytes: 256, hist, nonfinite: 0 }] }
  }
  const store = new RunStore({ now: () => 0 })
  store.ingest([
    { type: 'run', run: 'r', seq: 0, name: 'r', started: 0, schema: 1, host: 'h', profiler: 'p', algorithm: null,
      layers: [{ name: 'fc1', shape: [8, 8], numel: 64, dtype: 'float32', format: 'dense', mask_source: 'inferred_zeros' }], sampler: { every: 10 } },
    layer(0, { lo: -0.3, hi: 0.25, counts: [5, 9, 20, 11, 7, 12] }),
    layer(10, { lo: -0.9, hi: 0.7, counts: [1, 2, 3, 4] }),
  ])
  const spec = buildReport(store.snapshot('r')!, { sections: ['weights'] }).charts.find((c) => c.id === 'histogram-1')!.spec
  const edges = edgesBySeries((spec.datasets as Record<string, HistogramRow[]>).histogram!)
  expect([...edges.keys()]).toEqual(['step 0', 'step 10'])
  expect(edges.get('step 0')).toEqual(edges.get('step 10'))
  expect(edges.get('step 10')).toHaveLength(6) // the most bins either step has
  expect(spec.encoding).toMatchObject({ y: { field: 'share', title: 'Share of non-zero weights' } })
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

test('specs carry their data under named datasets with labelled axes, on the shared step domain', () => {
  const spec = sparsitySpec(sparsityRows([sample]), [{ step: 40, layer: 'all layers', op: 'drop', count: 3, signed: -3 }], { layers: ['fc1', 'head'], domain: [0, 40] })
  const [rules, lines, crosshair] = spec.layer as { data: unknown; encoding: Record<string, unknown>; mark: { type: string } }[]
  expect(rules).toMatchObject({ data: { name: 'event_marks' }, mark: { type: 'rule' } })
  expect(lines!.data).toEqual({ name: 'sparsity' })
  expect((spec.datasets as Record<string, unknown[]>).sparsity).toHaveLength(2)
  expect(spec.params).toEqual([{ name: 'step_lo', value: 0 }, { name: 'step_hi', value: 40 }])
  expect(lines!.encoding).toMatchObject({
    x: { title: 'Training step', scale: { domainMin: { expr: 'step_lo' }, domainMax: { expr: 'step_hi' }, nice: false } },
    y: { title: 'Sparsity', axis: { format: '.1~%' } },
  })
  // the crosshair's tooltip names every layer, dotted names taken literally
  const dotted = sparsitySpec([], [], { layers: ['blocks.0.fc'], domain: [0, 1], markEvents: true }).layer as typeof spec.layer & { encoding: { tooltip: { field: string; title: string }[] } }[]
  expect(dotted[2]!.encoding.tooltip[1]).toMatchObject({ field: 'blocks\\.0\\.fc', title: 'blocks.0.fc' })
  expect(crosshair!.encoding.tooltip).toHaveLength(3)
  const heatmap = sparsitySpec([], [], { layers: Array.from({ length: 13 }, (_, i) => `l${i}`), domain: [0, 1] })
  expect(heatmap).toMatchObject({ mark: { type: 'rect' }, encoding: { x2: { field: 'step_end' }, y: { field: 'layer' }, color: { field: 'sparsity' } } })
  expect(histogramSpec([], { layer: 'fc1', step: 40 }).encoding).toMatchObject({ x: { title: 'Weight value' }, y: { title: 'Share of non-zero weights' } })
  expect(eventsSpec([], { layer: 'fc1', domain: [0, 1] }).title).toMatchObject({ text: 'Topology updates · fc1' })
})

test('event and flag marks are layers of their own only when there are some (an empty one warns of an infinite extent)', () => {
  const marks = (spec: ReturnType<typeof sparsitySpec>) => (spec.layer as { data: { name?: string } }[]).map((l) => l.data.name).filter((n) => n?.endsWith('_marks'))
  expect(marks(sparsitySpec([], [], { layers: ['fc1'], domain: [0, 1] }))).toEqual([])
  expect(marks(sparsitySpec([], [], { layers: ['fc1'], domain: [0, 1], markEvents: true, markFlags: true }))).toEqual(['event_marks', 'flag_marks'])
  const flags = flagMarkRows([{ rule: 'dead-layer', severity: 'critical', layers: ['fc1'], from: 30, to: 50, message: 'fc1 has no active weights since step 30', evidence: {}, fix: '' }])
  expect(flags).toEqual([{ step: 30, severity: 'critical', rule: 'dead-layer', message: 'fc1 has no active weights since step 30' }])
  expect(marks(sparsitySpec([], [], { layers: ['fc1'], domain: [0, 1], flags }))).toEqual(['flag_marks'])
})

test('heatmap cells reach the next sample, so a widened interval leaves no empty column', () => {
  const at = (step: number): SampleRecord => ({ ...sample, step, layers: sample.layers.slice(0, 1) })
  // every 10 steps, then every 40 from step 20 on
  const rows = heatmapRows([at(0), at(10), at(20), at(60), at(100)])
  expect(rows.map((r) => [r.step, r.step_end])).toEqual([[0, 10], [10, 20], [20, 60], [60, 100], [100, 140]])
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

test("a user's metric is drawn per layer from each layer point that carries it, non-finite values left out", () => {
  const points = [
    { step: 0, name: 'fc1', metrics: { mean_abs: 0.5, active: 4 } },
    { step: 0, name: 'head' },
    { step: 10, name: 'fc1', metrics: { mean_abs: null, active: 3 } },
  ]
  expect(metricRows(points)).toEqual([
    { step: 0, layer: 'fc1', name: 'mean_abs', value: 0.5 },
    { step: 0, layer: 'fc1', name: 'active', value: 4 },
    { step: 10, layer: 'fc1', name: 'mean_abs', value: null },
    { step: 10, layer: 'fc1', name: 'active', value: 3 },
  ])
  const spec = metricSpec(metricRows(points), { name: 'mean_abs', domain: [0, 10] })
  expect(spec.transform).toEqual([{ filter: { field: 'name', equal: 'mean_abs' } }, { filter: 'isValid(datum.value)' }])
  expect(spec.encoding).toMatchObject({ x: { field: 'step' }, y: { field: 'value', title: 'mean_abs' }, color: { field: 'layer' } })
})

test('exploration charts: percent axes on the shared step domain, the whole model drawn heavier, dashed and outside the colour scale', () => {
  const rows = [
    { step: 0, layer: 'fc1', itop: 0.1, maskDistance: null },
    { step: 0, layer: 'all layers', itop: 0.1, maskDistance: null },
  ]
  const itop = itopSpec(rows, { domain: [0, 100] })
  type Layer = { transform: { filter: unknown }[]; mark: Record<string, unknown>; encoding: Record<string, Record<string, unknown>> }
  const [layers, model] = itop.layer as Layer[]
  expect(itop).toMatchObject({
    title: { text: 'In-time over-parameterization', subtitle: ['Share of weights active at any point so far', 'Heavier dashed grey line: all layers together'] },
    params: [{ name: 'step_lo', value: 0 }, { name: 'step_hi', value: 100 }],
    data: { name: 'exploration' },
    transform: [{ filter: 'isValid(datum.itop)' }],
  })
  expect((itop.datasets as Record<string, unknown[]>).exploration).toBe(rows)
  expect(layers).toMatchObject({
    transform: [{ filter: { not: { field: 'layer', equal: 'all layers' } } }],
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: { field: 'step', scale: { domainMin: { expr: 'step_lo' }, domainMax: { expr: 'step_hi' } } },
      y: { field: 'itop', title: 'Ever active (% of weights)', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      color: { field: 'layer' },
    },
  })
  expect(model).toMatchObject({ transform: [{ filter: { field: 'layer', equal: 'all layers' } }], mark: { strokeWidth: 3, strokeDash: [6, 4] }, encoding: { color: { value: '#999999' } } })

  const distance = maskDistanceSpec([], { domain: [0, 1] })
  expect((distance.layer as Layer[])[0]!.encoding.y).toMatchObject({ field: 'maskDistance', title: 'Changed (% of active)', scale: { domainMin: 0 }, axis: { format: '.2~p' } })
  expect(distance.title).toMatchObject({ text: 'Mask distance between samples' })
  // one layer (or, past the threshold, the whole model): one line, no legend
  const one = maskDistanceSpec([], { domain: [0, 1], layer: 'all layers' })
  expect(one.title).toEqual({ text: 'Mask distance between samples · all layers', subtitle: 'Share of active positions changed since the previous sample' })
  expect(one.layer).toHaveLength(1)
  expect((one.layer as Layer[])[0]!.encoding.color).toBeUndefined()
  expect(itopSpec([], { domain: [0, 1], layer: 'fc1', small: true }).title).toEqual({ text: 'Weights ever active' })

  const regrowth = regrowthSpec([{ step: 100, layer: 'fc1', grown: 30, regrown: 6, share: 0.2 }], { layer: 'fc1', domain: [0, 100] })
  expect(regrowth).toMatchObject({
    title: { text: 'Regrowth per update · fc1' },
    data: { name: 'regrowth' },
    encoding: { x: { field: 'step' }, y: { field: 'share', title: 'Regrown (% of grown)', scale: { domain: [0, 1] }, axis: { format: '.0%' } } },
  })
})

test('event rows carry how many of a grow were regrown, when the profiler says; a drop of 0 is +0 as JSON gives it back', () => {
  const grow: EventRecord = { type: 'event', run: 'r', seq: 2, step: 50, time: 0, layer: 'fc1', op: 'grow', count: 10, exact: true, algorithm: 'RigL', requested: null, rows: null, regrown: 4 }
  expect(eventRows([grow, { ...grow, seq: 3, op: 'drop', count: 0, regrown: undefined }])).toEqual([
    { step: 50, layer: 'fc1', op: 'grow', count: 10, signed: 10, regrown: 4 },
    { step: 50, layer: 'fc1', op: 'drop', count: 0, signed: 0 },
  ])
  expect(Object.is(eventRows([{ ...grow, op: 'drop', count: 0 }])[0]!.signed, 0)).toBe(true)
})
