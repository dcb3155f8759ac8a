import { expect, test } from 'vitest'
import { buildCompareReport } from './buildCompareReport.js'
import type { HistogramRow } from './chartSpecs.js'
import type { ComparedEventRow } from './compareSpecs.js'
import type { ComparedPoint, DifferencePoint } from './compareRuns.js'
import type { Flag } from './flags.js'
import { RunStore, type RunSnapshot } from './RunStore.js'
import type { Histogram, WireRecord } from './schema.js'

/**
 * A run of `steps` steps sampled every 10, its layers of 100 weights each with `nnz(layer, step)` active; at each
 * step of `updates`, fc1 drops and regrows `rewire` connections (events before that step's sample).
 */
function snapshot(spec: {
  id: string
  dropFraction: number
  layers: string[]
  steps: number
  nnz: (layer: string, step: number) => number
  hist: (layer: string, step: number, nnz: number) => Histogram
  updates?: number[]
  rewire?: number
}): RunSnapshot {
  const { id, layers, steps } = spec
  let seq = 0
  const records: WireRecord[] = [{
    type: 'run', run: id, seq: seq++, name: `SET ${spec.dropFraction}`, started: 1000, schema: 1, host: 'h', profiler: 'p',
    algorithm: { name: 'SET', params: { sparsity: 0.5, drop_fraction: spec.dropFraction } },
    layers: layers.map((name) => ({ name, shape: [10, 10], numel: 100, dtype: 'float32', format: 'dense_masked', mask_source: 'torch_prune' })),
    sampler: { every: 10, budget: null },
  }]
  for (let step = 0; step <= steps; step += 10) {
    if (spec.updates?.includes(step))
      for (const op of ['drop', 'grow'] as const)
        records.push({ type: 'event', run: id, seq: seq++, step, time: 1000 + step, layer: 'fc1', op, count: spec.rewire!, exact: true, algorithm: 'SET', requested: null, rows: null })
    records.push({
      type: 'sample', run: id, seq: seq++, step, time: 1000 + step, cost_ms: 1, step_ms: 10,
      layers: layers.map((name) => {
        const nnz = spec.nnz(name, step)
        return { name, nnz, numel: 100, sparsity: 1 - nnz / 100, bytes: 4 * nnz, dense_bytes: 400, hist: spec.hist(name, step, nnz), nonfinite: 0 }
      }),
    })
  }
  records.push({ type: 'end', run: id, seq: seq++, step: steps, time: 1000 + steps, status: 'finished' })
  const store = new RunStore({ now: () => 0 })
  store.ingest(records)
  return store.snapshot(id)!
}

/** Two halves of a histogram: `left` values in [lo, mid), `right` in [mid, hi). */
const halves = (lo: number, hi: number, left: number, right: number): Histogram => ({ lo, hi, counts: [left, right] })

// A: 40 steps, fc1 50 active throughout, updates at 20 and 40 rewiring 10 then 5 (over 50 active before each).
const runA = () => snapshot({
  id: 'a', dropFraction: 0.3, layers: ['fc1', 'fc2'], steps: 40, updates: [20], rewire: 10,
  nnz: (layer) => (layer === 'fc1' ? 50 : 20),
  hist: (layer, step, nnz) => (layer === 'fc1' ? (step === 0 ? halves(-0.5, 0.5, 25, 25) : halves(-1, 1, 10, 40)) : halves(-1, 1, nnz / 2, nnz / 2)),
})
// B: 80 steps, an extra layer; fc1 40 active up to step 30, then 30; updates every 20 rewiring 20.
const runB = () => snapshot({
  id: 'b', dropFraction: 0.5, layers: ['fc1', 'fc2', 'extra'], steps: 80, updates: [20, 40, 60, 80], rewire: 20,
  nnz: (layer, step) => (layer === 'fc1' ? (step <= 30 ? 40 : 30) : layer === 'fc2' ? 20 : 100),
  hist: (layer, step, nnz) => (layer === 'fc1' ? (step === 0 ? halves(-0.5, 0.5, 20, 20) : halves(-2, 2, nnz - 10, 10)) : halves(-1, 1, nnz / 2, nnz / 2)),
})

const rows = <T>(report: ReturnType<typeof buildCompareReport>, id: string) => {
  const chart = report.charts.find((c) => c.id === id)
  if (!chart) throw new Error(`no chart ${id} among ${report.charts.map((c) => c.id).join(', ')}`)
  return Object.values(chart.spec.datasets as Record<string, T[]>)[0]!
}
const rounded = (value: number) => Math.round(value * 1e9) / 1e9

test('the report names the runs A and B, lists every layer only some runs have, and orders its charts', () => {
  const report = buildCompareReport([runA(), runB()])
  expect(report.title).toBe('SET 0.3 vs SET 0.5')
  expect(report.runs.map(({ flags, ...r }) => r)).toEqual([
    { label: 'A', run: 'a', name: 'SET 0.3', algorithm: 'SET (sparsity=0.5, drop_fraction=0.3)', steps: 40, statusText: 'finished at step 40', dash: [1, 0], flagCounts: { info: 0, warning: 1, critical: 0 } },
    { label: 'B', run: 'b', name: 'SET 0.5', algorithm: 'SET (sparsity=0.5, drop_fraction=0.5)', steps: 80, statusText: 'finished at step 80', dash: [6, 3], flagCounts: { info: 0, warning: 4, critical: 0 } },
  ])
  // each run's own findings: fc2 is 0.8 sparse against the 0.5 target in both; B's fc1 drifts from 0.6 to 0.7
  expect(report.runs.map((r) => r.flags.map((f) => `${f.rule} ${f.layers.join()}`))).toEqual([
    ['layer-off-target fc2'],
    ['layer-off-target fc2', 'layer-off-target extra', 'sparsity-drift fc1', 'layer-off-target fc1'],
  ])
  expect(report.sharedLayers).toEqual(['fc1', 'fc2'])
  expect(report.onlyIn).toEqual([{ label: 'B', run: 'b', layers: ['extra'] }])
  expect(report.summary.find((r) => r.label === 'drop_fraction')).toEqual({ label: 'drop_fraction', cells: ['0.3', '0.5'], differs: true })
  expect(report.summary.find((r) => r.label === 'sparsity')).toEqual({ label: 'sparsity', cells: ['0.5', '0.5'], differs: false })
  expect(report.alignment).toBe('step')
  expect(report.alignmentText).toBe(
    "Lined up by training step. The runs differ in length (steps: A 40, B 80); past A's end a difference holds A's last value. Lined up by fraction of training, the ends meet.",
  )
  // fc2 never changed: no events of its own
  expect(report.charts.map((c) => `${c.group}:${c.id}`)).toEqual([
    'sparsity:sparsity', 'sparsity:sparsity-difference-B', 'topology:churn', 'topology:churn-difference-B',
    'layers:sparsity-1', 'layers:histogram-first-1', 'layers:histogram-last-1', 'layers:events-1',
    'layers:sparsity-2', 'layers:histogram-first-2', 'layers:histogram-last-2',
  ])
  expect(report.charts.filter((c) => c.small).map((c) => c.layer)).toEqual(['fc1', 'fc1', 'fc1', 'fc1', 'fc2', 'fc2', 'fc2'])
  expect([report.topologyNote, report.layerChartsNote]).toEqual([null, null])
})

test('the overlay and the differences hold the shared layers’ numbers, B − A against A’s value held at each of B’s steps', () => {
  const report = buildCompareReport([runA(), runB()])
  const overlay = rows<ComparedPoint & { runLabel: string }>(report, 'sparsity')
  // the extra layer only B has is listed, not drawn
  expect(new Set(overlay.map((p) => p.layer))).toEqual(new Set(['fc1', 'fc2']))
  expect(overlay.filter((p) => p.layer === 'fc1' && p.step === 40).map((p) => [p.runLabel, p.value])).toEqual([['A: SET 0.3', 0.5], ['B: SET 0.5', 0.7]])
  // fc1: B has 40 active (0.6) to step 30, then 30 (0.7); A 50 (0.5) throughout, held past its end at 40
  const sparsity = rows<DifferencePoint>(report, 'sparsity-difference-B').filter((d) => d.layer === 'fc1')
  expect(sparsity.map((d) => [d.x, rounded(d.delta)])).toEqual([[0, 0.1], [10, 0.1], [20, 0.1], [30, 0.1], [40, 0.2], [50, 0.2], [60, 0.2], [70, 0.2], [80, 0.2]])
  // churn = rewired / active before: A at 20: 10 / 50; B at 20 and 40: 20 / 40, at 60 and 80: 20 / 30
  const churn = rows<ComparedPoint>(report, 'churn')
  expect(churn.map((p) => [p.run, p.layer, p.step, rounded(p.value)])).toEqual([
    ['a', 'fc1', 20, 0.2],
    ['b', 'fc1', 20, 0.5], ['b', 'fc1', 40, 0.5], ['b', 'fc1', 60, rounded(2 / 3)], ['b', 'fc1', 80, rounded(2 / 3)],
  ])
  expect(rows<DifferencePoint>(report, 'churn-difference-B').map((d) => [d.x, rounded(d.delta)])).toEqual([[20, 0.3], [40, 0.3], [60, rounded(2 / 3 - 0.2)], [80, rounded(2 / 3 - 0.2)]])
  // both runs' updates of fc1 on one axis, drops below it
  expect(rows<ComparedEventRow>(report, 'events-1').map((r) => [r.run, r.step, r.signed])).toEqual([
    ['a', 20, -10], ['a', 20, 10],
    ['b', 20, -20], ['b', 20, 20], ['b', 40, -20], ['b', 40, 20], ['b', 60, -20], ['b', 60, 20], ['b', 80, -20], ['b', 80, 20],
  ])
})

test('histograms are of the same steps and on shared bin edges: by step the last step both reached, by fraction each run’s end', () => {
  const bySteps = buildCompareReport([runA(), runB()])
  const bars = (report: ReturnType<typeof buildCompareReport>, id: string) =>
    rows<HistogramRow>(report, id).map((r) => [r.series, r.bin_start, r.bin_end, r.count, rounded(r.share)])
  // first: A 25 | 25 and B 20 | 20 on [-0.5, 0.5]
  expect(bars(bySteps, 'histogram-first-1')).toEqual([
    ['A · step 0', -0.5, 0, 25, 0.5], ['A · step 0', 0, 0.5, 25, 0.5],
    ['B · step 0', -0.5, 0, 20, 0.5], ['B · step 0', 0, 0.5, 20, 0.5],
  ])
  // last: step 40, where A ends; A's [-1, 0) and [0, 1) fall whole into the shared [-2, 0) and [0, 2): 10 | 40;
  // B at step 40 (30 active): 20 | 10
  expect(bars(bySteps, 'histogram-last-1')).toEqual([
    ['A · step 40', -2, 0, 10, 0.2], ['A · step 40', 0, 2, 40, 0.8],
    ['B · step 40', -2, 0, 20, rounded(2 / 3)], ['B · step 40', 0, 2, 10, rounded(1 / 3)],
  ])
  const title = (report: ReturnType<typeof buildCompareReport>, id: string) => (report.charts.find((c) => c.id === id)!.spec.title as { text: string }).text
  expect([title(bySteps, 'histogram-first-1'), title(bySteps, 'histogram-last-1')]).toEqual(['Weights at step 0', 'Weights at step 40'])

  const byFraction = buildCompareReport([runA(), runB()], { alignment: 'fraction' })
  expect(byFraction.alignmentText).toBe("Lined up by the fraction of each run's training (steps: A 40, B 80), so every run's start and end meet.")
  expect(bars(byFraction, 'histogram-last-1').map((r) => r[0])).toEqual(['A · step 40', 'A · step 40', 'B · step 80', 'B · step 80'])
  expect(title(byFraction, 'histogram-last-1')).toBe('Weights at 100% of training')
  // B's step 40 is half its training: A, at 0.5, was (and stayed) 0.5 sparse; B 0.7
  const fc1 = rows<DifferencePoint>(byFraction, 'sparsity-difference-B').filter((d) => d.layer === 'fc1')
  expect(fc1.filter((d) => d.x === 0.5).map((d) => rounded(d.delta))).toEqual([0.2])
})

test('each run carries its own flags with their counts; runs without updates say why there is no churn', () => {
  const flag: Flag = { rule: 'dead-layer', severity: 'warning', layers: ['fc2'], from: 10, to: 40, message: 'fc2 is dead', evidence: {}, fix: 'regrow it' }
  const a = { ...runA(), flags: [flag] }
  const still = snapshot({ id: 'c', dropFraction: 0, layers: ['fc1', 'fc2'], steps: 40, nnz: () => 50, hist: (_l, _s, nnz) => halves(-1, 1, nnz, 0) })
  const report = buildCompareReport([a, still])
  expect(report.runs.map((r) => [r.label, r.flags, r.flagCounts])).toEqual([
    ['A', [flag], { info: 0, warning: 1, critical: 0 }],
    ['B', [], { info: 0, warning: 0, critical: 0 }],
  ])
  expect(report.summary.find((r) => r.label === 'Flags')!.cells).toEqual(['0 critical, 1 warning, 0 info', '0 critical, 0 warning, 0 info'])
  // A's churn is drawn; with only one run updating there is nothing for a difference to hold
  expect(report.charts.filter((c) => c.group === 'topology').map((c) => c.id)).toEqual(['churn'])
  const quiet = buildCompareReport([still, { ...still, run: { ...still.run, run: 'd' } }])
  expect(quiet.charts.filter((c) => c.group === 'topology')).toEqual([])
  // runs of one script share a name: the title says what differs instead
  expect(quiet.title).toBe('SET 0: 2 runs')
  const b = runB()
  expect(buildCompareReport([runA(), { ...b, run: { ...b.run, name: 'SET 0.3' } }]).title).toBe('SET 0.3: drop_fraction 0.3 vs 0.5')
  expect(quiet.topologyNote).toBe('No run recorded a topology update (a drop or a grow), so there is no churn to compare.')
  expect(() => buildCompareReport([runA(), runA()])).toThrow('a comparison takes different runs, got a twice')
  expect(() => buildCompareReport([runA()])).toThrow('a comparison takes 2 to 4 runs, got 1')
})

test('past 12 shared layers the overlays draw each run’s whole model; the difference stays per layer', () => {
  const layers = Array.from({ length: 14 }, (_, i) => `block${i}`)
  const many = (id: string, active: number) =>
    snapshot({ id, dropFraction: 0.3, layers, steps: 20, nnz: () => active, hist: (_l, _s, nnz) => halves(-1, 1, nnz, 0) })
  const report = buildCompareReport([many('a', 50), many('b', 35)])
  // whole model: 14 × 50 of 1,400 active is 0.5 sparse, 14 × 35 is 0.65
  const model = rows<ComparedPoint>(report, 'sparsity')
  expect(model.map((p) => [p.run, p.layer, p.step, rounded(p.value)])).toEqual([
    ['a', 'all layers', 0, 0.5], ['a', 'all layers', 10, 0.5], ['a', 'all layers', 20, 0.5],
    ['b', 'all layers', 0, 0.65], ['b', 'all layers', 10, 0.65], ['b', 'all layers', 20, 0.65],
  ])
  expect(report.charts.find((c) => c.id === 'sparsity')!.title).toBe('Whole-model sparsity')
  expect(report.charts.find((c) => c.id === 'sparsity-difference-B')!.spec.mark).toEqual({ type: 'rect', clip: true })
  expect(new Set(rows<DifferencePoint>(report, 'sparsity-difference-B').map((d) => d.layer)).size).toBe(14)
  expect(report.charts.filter((c) => c.group === 'layers' && c.id.startsWith('sparsity-')).length).toBe(14)
})
