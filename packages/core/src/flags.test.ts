import fc from 'fast-check'
import { expect, test } from 'vitest'
import { evaluateFlags, FLAG_RULES, FlagEvaluator, parseFlagThresholds, separatedCluster, type Flag } from './flags.js'
import { RunStore } from './RunStore.js'
import type { EventRecord, LayerSample, RunRecord, SampleRecord, SamplerRecord, WireRecord } from './schema.js'

const run: RunRecord = {
  type: 'run', run: 'r', seq: 0, name: 'flags', started: 0, schema: 1, host: 'h', profiler: 'p',
  algorithm: { name: 'RigL', params: { sparsity: 0.9, drop_fraction: 0.3 } },
  layers: [
    { name: 'fc1', shape: [10, 100], numel: 1000, dtype: 'float32', format: 'padded_csr', mask_source: 'sparselab' },
    { name: 'head', shape: [10, 10], numel: 100, dtype: 'float32', format: 'dense', mask_source: 'inferred_zeros' },
  ],
  sampler: { every: 10 },
}

/** fc1 with `nnz` active weights spread on ±`scale`, head dense; bytes as Padded-CSR would take them. */
function fc1(nnz: number, scale = 0.1, extra: Partial<LayerSample> = {}): LayerSample {
  return { name: 'fc1', nnz, numel: 1000, sparsity: 1 - nnz / 1000, bytes: 8 * nnz, dense_bytes: 4000, hist: { lo: -scale, hi: scale, counts: nnz ? [nnz / 2, nnz / 2] : [0] }, nonfinite: 0, ...extra }
}
const head: LayerSample = { name: 'head', nnz: 100, numel: 100, sparsity: 0, bytes: 400, dense_bytes: 400, hist: { lo: -1, hi: 1, counts: [50, 50] }, nonfinite: 0 }

let seq = 0
const sample = (step: number, layer: LayerSample, scalars?: SampleRecord['scalars']): SampleRecord => ({
  type: 'sample', run: 'r', seq: ++seq, step, time: step, cost_ms: 1, step_ms: 10, layers: [layer, head], ...(scalars ? { scalars } : {}),
})
const event = (step: number, op: 'drop' | 'grow', count: number, requested: number | null = count): EventRecord => ({
  type: 'event', run: 'r', seq: ++seq, step, time: step, layer: 'fc1', op, count, exact: true, algorithm: 'RigL', requested, rows: null,
})
const flagsOf = (records: WireRecord[]) => evaluateFlags([run, ...records])
const only = (flags: Flag[], rule: string) => flags.filter((f) => f.rule === rule)

test('a healthy RigL run raises nothing: constant sparsity, balanced updates, steady magnitudes', () => {
  seq = 0
  const records: WireRecord[] = [sample(0, fc1(100))]
  for (let step = 10; step <= 100; step += 10) {
    records.push(event(step, 'drop', 30 - step / 5), event(step, 'grow', 30 - step / 5), sample(step, fc1(100))) // churn settling from 28% to 10%
  }
  expect(flagsOf(records)).toEqual([])
})

test('sparsity drifting under RigL: a warning past 5 points, critical past 20, from the last steady step', () => {
  seq = 0
  const flags = flagsOf([sample(0, fc1(100)), sample(10, fc1(120)), sample(20, fc1(200)), sample(30, fc1(400))])
  expect(only(flags, 'sparsity-drift')).toEqual([
    {
      rule: 'sparsity-drift', severity: 'critical', layers: ['fc1'], from: 10, to: 30,
      message: 'fc1 sparsity fell from 90.00% to 60.00% between steps 10 and 30',
      evidence: { first: 0.9, now: 0.6 }, fix: expect.stringContaining('Re-apply the mask after optimizer.step()'),
    },
  ])
  // the 60% layer is also far from the 90% target, for three samples (steps 20 and 30 are two): not yet
  expect(only(flags, 'layer-off-target')).toEqual([])
})

test('off target, dead, non-finite and storage flags name the layer and the steps', () => {
  seq = 0
  const flags = flagsOf([
    sample(0, fc1(600)), sample(10, fc1(600)), sample(20, fc1(600, 0.1, { nonfinite: 3 })), sample(30, fc1(0), { loss: null }),
  ])
  expect(only(flags, 'layer-off-target').map((f) => [f.severity, f.from, f.to])).toEqual([['warning', 0, 20]]) // 40% for three samples; at step 30 it is at 100%, within 10 points
  expect(only(flags, 'storage-saves-nothing').map((f) => [f.from, f.message])).toEqual([[0, 'fc1 stores 4.69 KiB in padded_csr at 40.00% sparsity, 800 B more than dense']])
  expect(only(flags, 'non-finite-weights').map((f) => [f.severity, f.from, f.evidence])).toEqual([['critical', 20, { nonfinite: 3 }]])
  expect(only(flags, 'dead-layer').map((f) => [f.severity, f.from, f.message])).toEqual([['critical', 30, 'fc1 has no active weights since step 30: it passes nothing forward']])
  expect(only(flags, 'non-finite-loss').map((f) => [f.severity, f.from])).toEqual([['critical', 30]])
  // the dense head (inferred zeros) is nobody's target: never flagged
  expect(flags.flatMap((f) => f.layers)).not.toContain('head')
  expect(flags.map((f) => f.severity)).toEqual([...flags.map((f) => f.severity)].sort((a, b) => ['critical', 'warning', 'info'].indexOf(a) - ['critical', 'warning', 'info'].indexOf(b)))
})

test('updates: one that drops nothing it asked for, and one whose drops and grows differ', () => {
  seq = 0
  const flags = flagsOf([sample(0, fc1(100)), event(10, 'drop', 0, 30), event(10, 'grow', 0), sample(10, fc1(100)), event(20, 'drop', 30), event(20, 'grow', 20), sample(20, fc1(90))])
  expect(only(flags, 'wasted-update').map((f) => [f.from, f.message])).toEqual([[10, 'RigL asked to drop 30 connections of fc1 at step 10 and dropped none']])
  expect(only(flags, 'drop-grow-imbalance').map((f) => [f.from, f.evidence])).toEqual([[20, { drops: 30, grows: 20 }]])
})

test('weights exploding: the 95th percentile of |w| ten times larger within the window', () => {
  seq = 0
  // on ±s with two equal bins the 95th percentile of |w| is 0.9 s
  const flags = flagsOf([0, 1, 2, 3].map((i) => sample(i * 10, fc1(100, 0.1 * 3 ** i))))
  expect(only(flags, 'weights-exploding').map((f) => [f.from, f.to, f.evidence.before!.toFixed(4), f.evidence.now!.toFixed(4)])).toEqual([[0, 30, '0.0900', '2.4300']])
})

test('churn that does not settle, and a sampling interval widened past ten times the requested one', () => {
  seq = 0
  const records: WireRecord[] = [sample(0, fc1(100))]
  for (let step = 10; step <= 100; step += 10) records.push(event(step, 'drop', 20), event(step, 'grow', 20), sample(step, fc1(100)))
  const widened: SamplerRecord = { type: 'sampler', run: 'r', seq: ++seq, step: 100, time: 100, every: 160, overhead: 0.03 }
  const flags = flagsOf([...records, widened])
  expect(only(flags, 'churn-not-settling').map((f) => [f.severity, f.from, f.to, f.evidence])).toEqual([['info', 60, 100, { early: 0.2, late: 0.2 }]])
  expect(only(flags, 'interval-widened').map((f) => f.message)).toEqual(['Sampling every 160 steps since step 100, 16× the requested 10: a sample cost 3.00% of training'])
})

test('the store keeps the flags of every record, whatever it thins; any prefix folded on gives the same flags', () => {
  seq = 0
  const limits: WireRecord = { type: 'metric', run: 'r', seq: ++seq, step: 0, time: 0, name: 'm', warn_above: 120, warn_below: null }
  const records: WireRecord[] = [{ ...run, flag_thresholds: { stallUpdates: 3 } }, limits, sample(0, fc1(100))]
  for (let step = 10; step <= 200; step += 10) {
    const extra = { active_ever: 200 + Math.min(step, 60), capacity: 400, absmax: step > 150 ? 0 : 0.1, metrics: { m: step } }
    records.push(event(step, 'drop', 10), event(step, 'grow', step % 50 ? 10 : 7), sample(step, fc1(100 + step, 0.1, extra)))
  }
  const store = new RunStore({ maxSampleBytesPerRun: 4096 }) // forces thinning
  store.ingest(records)
  expect(store.snapshot('r')!.thinning).not.toBeNull()
  expect(store.flags('r')).toEqual(evaluateFlags(records))
  // every rule that reads the later fields fired somewhere along the run
  expect(new Set(evaluateFlags(records).map((f) => f.rule))).toEqual(new Set(['sparsity-drift', 'drop-grow-imbalance', 'padding-waste', 'exploration-stalled', 'metric-limit', 'dead-layer', 'layer-off-target']))
  fc.assert(
    fc.property(fc.integer({ min: 1, max: records.length }), (cut) => {
      const evaluator = new FlagEvaluator()
      for (const record of records.slice(0, cut)) evaluator.apply(record)
      const live = evaluator.flags()
      expect(live).toEqual(evaluateFlags(records.slice(0, cut)))
      for (const record of records.slice(cut)) evaluator.apply(record)
      expect(evaluator.flags()).toEqual(evaluateFlags(records))
    }),
  )
})

test('without a target, a masked layer far from the other masked layers together is off target, as info', () => {
  seq = 0
  // torch prune, no algorithm: a and b (1,000 weights each) at 90%, c (100) at 5%
  const pruned = (name: string, numel: number): RunRecord['layers'][number] => ({ name, shape: [numel], numel, dtype: 'float32', format: 'dense_masked', mask_source: 'torch_prune' })
  const layer = (name: string, numel: number, nnz: number): LayerSample => ({ name, nnz, numel, sparsity: 1 - nnz / numel, bytes: 4 * numel, dense_bytes: 4 * numel, hist: { lo: -1, hi: 1, counts: [nnz] }, nonfinite: 0 })
  const noTarget: RunRecord = { ...run, algorithm: null, layers: [pruned('a', 1000), pruned('b', 1000), pruned('c', 100), run.layers[1]!] }
  const at = (step: number, c: number, layers = ['a', 'b', 'c']): SampleRecord => ({
    type: 'sample', run: 'r', seq: ++seq, step, time: step, cost_ms: 1, step_ms: 10,
    layers: [...layers.map((name) => (name === 'c' ? layer('c', 100, c) : layer(name, 1000, 100))), head],
  })
  const records = [at(0, 95), at(10, 95), at(20, 95), at(30, 95), at(40, 10), at(50, 10)]
  // a and b, each against the other and c (195 of 1,100 weights active: 82.27%), are within 50 points
  expect(only(evaluateFlags([noTarget, ...records]), 'layer-off-target')).toEqual([
    {
      rule: 'layer-off-target', severity: 'info', layers: ['c'], from: 0, to: 30,
      message: 'c is at 5.00% sparsity, far from the 90.00% of the other masked layers together, since step 0',
      evidence: { sparsity: 1 - 95 / 100, others: 0.9 }, fix: expect.stringContaining('often the first and last layers'),
    },
  ])
  // for three samples (two are not enough), beyond offOthers; of two layers apart neither is the odd one
  expect(only(evaluateFlags([noTarget, ...records.slice(0, 2)]), 'layer-off-target')).toEqual([])
  expect(only(evaluateFlags([noTarget, ...records], { offOthers: 0.9 }), 'layer-off-target')).toEqual([])
  expect(only(evaluateFlags([noTarget, at(60, 95, ['a', 'c']), at(70, 95, ['a', 'c']), at(80, 95, ['a', 'c'])]), 'layer-off-target')).toEqual([])
  // with a target the layer is measured against it, not against the others
  expect(only(evaluateFlags([{ ...noTarget, algorithm: { name: 'magnitude', params: { sparsity: 0.05 } } }, ...records]), 'layer-off-target').map((f) => [f.severity, f.layers])).toEqual([
    ['warning', ['a']], ['warning', ['b']],
  ])
})

test('all active weights within ±deadAbs make a dead layer, as no active weights do', () => {
  seq = 0
  const flags = flagsOf([sample(0, fc1(100, 0.1, { absmax: 0.09 })), sample(10, fc1(100, 0.1, { absmax: 5e-7 })), sample(20, fc1(100, 0.1, { absmax: 0 }))])
  expect(only(flags, 'dead-layer')).toEqual([
    expect.objectContaining({
      severity: 'critical', layers: ['fc1'], from: 10, to: 20,
      message: 'All 100 active weights of fc1 are within ±0.000001 since step 10: it passes almost nothing forward',
      evidence: { nnz: 100, absmax: 0 },
    }),
  ])
})

test('Padded-CSR slots more than half empty are padding waste', () => {
  seq = 0
  const flags = flagsOf([sample(0, fc1(100, 0.1, { capacity: 200 })), sample(10, fc1(100, 0.1, { capacity: 201 }))])
  expect(only(flags, 'padding-waste')).toEqual([
    expect.objectContaining({
      severity: 'warning', layers: ['fc1'], from: 10, to: 10,
      message: "50.25% of fc1's 201 Padded-CSR slots hold no connection at step 10 (100 active)",
      evidence: { capacity: 201, nnz: 100, padding: 101 / 201 },
    }),
  ])
})

test('separatedCluster finds a second mode of large weights, and not a bulk of small young ones or a thinning tail', () => {
  // folded to 8 bins of 0.5 over |w| ≤ 4: 990 | 0 0 0 0 0 0 | 10
  expect(separatedCluster({ lo: -4, hi: 4, counts: [10, 0, 0, 0, 0, 0, 0, 900, 90, 0, 0, 0, 0, 0, 0, 0] })).toEqual({ share: 0.01, count: 10, dip: 0.75, from: 1 })
  // 600 | 200 | 50 | 20 | 150 | 20 | 0 | 0: the dip at bin 3 (20), a mode of 150 ≥ 4 × 20 above it; the cluster is all above the dip
  expect(separatedCluster({ lo: -4, hi: 4, counts: [0, 0, 10, 75, 10, 25, 100, 300, 300, 100, 25, 10, 75, 10, 0, 0] })).toEqual({ share: 170 / 1040, count: 170, dip: 1.75, from: 2 })
  // 400 young weights near 0, an empty gap, then 600 mature ones: the median is among the mature, nothing rises above it
  expect(separatedCluster({ lo: -4, hi: 4, counts: [0, 0, 0, 0, 300, 0, 0, 200, 200, 0, 0, 300, 0, 0, 0, 0] })).toBeNull()
  // a tail that thins out, a flat (uniform) spread, and a histogram too small to tell
  expect(separatedCluster({ lo: -4, hi: 4, counts: [1, 2, 4, 8, 16, 32, 64, 400, 400, 64, 32, 16, 8, 4, 2, 1] })).toBeNull()
  expect(separatedCluster({ lo: -4, hi: 4, counts: [65, 69, 63, 68, 66, 64, 67, 65, 65, 67, 64, 66, 68, 63, 69, 65] })).toBeNull()
  expect(separatedCluster({ lo: -4, hi: 4, counts: [10, 0, 0, 0, 0, 0, 0, 5, 4, 0, 0, 0, 0, 0, 0, 0] })).toBeNull()
})

test('a second mode of large weights in two samples in a row is a split', () => {
  seq = 0
  const split = (step: number) => sample(step, fc1(1000, 4, { hist: { lo: -4, hi: 4, counts: [30, 0, 0, 0, 0, 0, 0, 880, 90, 0, 0, 0, 0, 0, 0, 0] } }))
  const flags = flagsOf([sample(0, fc1(1000, 4)), split(10), sample(20, fc1(1000, 4)), split(30), split(40)])
  expect(only(flags, 'weights-split')).toEqual([
    expect.objectContaining({
      severity: 'warning', layers: ['fc1'], from: 30, to: 40, evidence: { share: 0.03, count: 30, from: 1, dip: 0.75 },
      message: "fc1's active weights are bimodal: 3.00% of them (30) form a second mode at |w| ≥ 1.00, past a dip at 0.750 above the bulk, since step 30",
    }),
  ])
})

test('exploration stalls when the last updates grew connections the layer had already tried', () => {
  seq = 0
  const records: WireRecord[] = [sample(0, fc1(100, 0.1, { active_ever: 100 }))]
  let ever = 100
  for (let step = 10; step <= 100; step += 10) {
    ever += step <= 40 ? 20 : 0 // four updates explore 20 new positions each, then none do
    records.push(event(step, 'drop', 20), event(step, 'grow', 20), sample(step, fc1(100, 0.1, { active_ever: ever })))
  }
  const [stalled, ...more] = only(flagsOf(records), 'exploration-stalled')
  expect(more).toEqual([])
  // from step 90 on, the last five updates (50–90, then 60–100) grew 100 connections and none was new; the
  // flag starts at the sample before the first window's updates
  expect(stalled).toEqual(expect.objectContaining({
    severity: 'info', layers: ['fc1'], from: 40, to: 100, evidence: { grown: 100, fresh: 0, itop: 0.18 },
    message: 'fc1 stopped exploring: its last 5 updates grew 100 connections, of which 0 (0.00%) had never been active; 18.00% of its weights have been active so far',
  }))
  // at step 80 the window (updates 40–80) still held one that explored 20 of 100 grown
  expect(only(flagsOf(records.slice(0, -6)), 'exploration-stalled')).toEqual([])
})

test("a plugin metric's limits flag each layer whose value passes one, from the first such sample", () => {
  seq = 0
  const limits: WireRecord = { type: 'metric', run: 'r', seq: ++seq, step: 0, time: 0, name: 'grad_norm', warn_above: 10, warn_below: null }
  const at = (step: number, value: number | null) => sample(step, fc1(100, 0.1, { metrics: { grad_norm: value, other: 1e9 } }))
  const flags = flagsOf([limits, at(0, 1), at(10, 12.345678), at(20, null), at(30, 20), at(40, 3)])
  expect(only(flags, 'metric-limit')).toEqual([
    expect.objectContaining({
      severity: 'warning', metric: 'grad_norm', layers: ['fc1'], from: 10, to: 30,
      message: 'grad_norm of fc1 is 20 at step 30, above its warn_above of 10 since step 10',
      evidence: { value: 20, limit: 10 },
    }),
  ])
})

test("the run record's thresholds replace the evaluator's, which replace the defaults", () => {
  seq = 0
  const records = [sample(0, fc1(100)), sample(10, fc1(130))] // sparsity 90% → 87%: 3 points
  expect(only(evaluateFlags([run, ...records]), 'sparsity-drift')).toEqual([])
  expect(only(evaluateFlags([run, ...records], { drift: 0.02 }), 'sparsity-drift')).toHaveLength(1)
  expect(only(evaluateFlags([{ ...run, flag_thresholds: { drift: 0.05 } }, ...records], { drift: 0.02 }), 'sparsity-drift')).toEqual([])
  expect(only(evaluateFlags([{ ...run, flag_thresholds: { drift: 0.01 } }, ...records]), 'sparsity-drift')).toHaveLength(1)
})

test('command-line thresholds are checked as a run record’s are, naming the pair that is wrong', () => {
  expect(parseFlagThresholds(['drift=0.1', 'offTargetSamples=5', 'drift=0.2'])).toEqual({ drift: 0.2, offTargetSamples: 5 })
  expect(() => parseFlagThresholds(['drfit=0.1'])).toThrow('flag threshold "drfit=0.1": expected name=value with a name of drift, collapse,')
  expect(() => parseFlagThresholds(['offTargetSamples=1.5'])).toThrow('flag threshold "offTargetSamples=1.5": expected an integer ≥ 1, got 1.5')
  expect(() => parseFlagThresholds(['drift='])).toThrow('flag threshold "drift=": expected a finite number, got NaN')
  expect(() => parseFlagThresholds(['drift=-1'])).toThrow('flag threshold "drift=-1": expected a number ≥ 0, got -1')
})

// Generated runs: a few layers whose masks come and go, samples of random size, spread, non-finite counts,
// padding, exploration and metric values, updates that drop, grow or waste, sampler widenings and metric
// limits, with thresholds low enough that short runs reach every rule.
const PROP_LAYERS = ['l0', 'l1', 'l2', 'l3']
const SOURCES = ['sparselab', 'torch_prune', 'inferred_zeros'] as const
const propInfo = (name: string, source: (typeof SOURCES)[number]): RunRecord['layers'][number] => ({
  name, shape: [40, 50], numel: 2000, dtype: 'float32', format: source === 'sparselab' ? 'padded_csr' : source === 'torch_prune' ? 'dense_masked' : 'dense', mask_source: source,
})
const propLayer = fc.record({
  nnz: fc.constantFrom(0, 100, 200, 1000, 1900, 2000),
  scale: fc.constantFrom(0.001, 0.01, 0.1, 1, 10),
  split: fc.boolean(),
  nonfinite: fc.constantFrom(0, 0, 0, 2),
  absmax: fc.option(fc.constantFrom(0, 1)),
  capacity: fc.option(fc.constantFrom(2000, 5000)),
  ever: fc.option(fc.nat({ max: 2000 })),
  metric: fc.option(fc.option(fc.integer({ min: 0, max: 20 }))),
})
const propAction = fc.oneof(
  fc.record({ kind: fc.constant('sample' as const), advance: fc.integer({ min: 1, max: 20 }), layers: fc.array(fc.option(propLayer, { freq: 4 }), { minLength: 4, maxLength: 4 }), loss: fc.constantFrom(1, 1, 1, null) }),
  fc.record({ kind: fc.constant('event' as const), layer: fc.nat({ max: 3 }), op: fc.constantFrom('drop' as const, 'grow' as const), count: fc.constantFrom(0, 10, 100, 300), requested: fc.option(fc.constantFrom(10, 100, 300)) }),
  fc.record({ kind: fc.constant('sampler' as const), every: fc.constantFrom(2, 20, 200) }),
  fc.record({ kind: fc.constant('metric' as const), above: fc.option(fc.constantFrom(5, 15)), below: fc.option(fc.constant(2)) }),
  fc.record({ kind: fc.constant('layer' as const), layer: fc.nat({ max: 3 }), source: fc.constantFrom(...SOURCES) }),
)
const propRun = fc
  .record({
    algorithm: fc.constantFrom(null, { name: 'RigL', params: { sparsity: 0.9, drop_fraction: 0.3 } }, { name: 'magnitude', params: {} }),
    sources: fc.array(fc.constantFrom(...SOURCES), { minLength: 4, maxLength: 4 }),
    thresholds: fc.option(fc.record({ churnUpdates: fc.constantFrom(1, 2), offTargetSamples: fc.constantFrom(1, 2), stallUpdates: fc.constantFrom(1, 2), magnitudeWindow: fc.constantFrom(2, 4) })),
    actions: fc.array(propAction, { minLength: 1, maxLength: 80, size: 'max' }),
    end: fc.boolean(),
  })
  .map(({ algorithm, sources, thresholds, actions, end }) => {
    const records: WireRecord[] = [
      { ...run, run: 'p', algorithm, layers: PROP_LAYERS.map((name, i) => propInfo(name, sources[i]!)), ...(thresholds ? { flag_thresholds: thresholds } : {}) },
    ]
    let step = 0
    const base = (at = step) => ({ run: 'p', seq: records.length, step: at, time: at })
    for (const a of actions) {
      if (a.kind === 'sample') {
        step += a.advance
        const layers = a.layers.flatMap((l, i): LayerSample[] => {
          if (!l) return []
          const [c, m] = [Math.round(0.03 * l.nnz), Math.round(0.09 * l.nnz)]
          const counts = l.split ? [c, 0, 0, 0, 0, 0, 0, l.nnz - c - m, m, 0, 0, 0, 0, 0, 0, 0] : [l.nnz >> 1, l.nnz - (l.nnz >> 1)]
          return [{
            name: PROP_LAYERS[i]!, nnz: l.nnz, numel: 2000, sparsity: 1 - l.nnz / 2000, bytes: 8 * l.nnz, dense_bytes: 8000, hist: { lo: -l.scale, hi: l.scale, counts }, nonfinite: Math.min(l.nonfinite, l.nnz),
            ...(l.absmax === null ? {} : { absmax: l.absmax }), ...(l.capacity === null ? {} : { capacity: l.capacity }),
            ...(l.ever === null ? {} : { active_ever: Math.max(l.ever, l.nnz) }), ...(l.metric === null ? {} : { metrics: { m: l.metric } }),
          }]
        })
        records.push({ type: 'sample', ...base(), cost_ms: 1, step_ms: 10, layers, scalars: { loss: a.loss } })
      } else if (a.kind === 'event') {
        const requested = a.op === 'drop' ? a.requested : null
        records.push({ type: 'event', ...base(step + 1), layer: PROP_LAYERS[a.layer]!, op: a.op, count: a.count, exact: true, algorithm: 'RigL', requested, rows: null })
      } else if (a.kind === 'sampler') records.push({ type: 'sampler', ...base(), every: a.every, overhead: 0.01 })
      else if (a.kind === 'metric') records.push({ type: 'metric', ...base(), name: 'm', warn_above: a.above, warn_below: a.below })
      else records.push({ type: 'layer', ...base(), layer: PROP_LAYERS[a.layer]!, info: propInfo(PROP_LAYERS[a.layer]!, a.source), reason: 'mask changed' })
    }
    if (end) records.push({ type: 'end', ...base(), status: 'finished' })
    return records
  })

test('live and complete-log evaluation agree: any prefix folded on, and a thinning store fed in batches', () => {
  const fired = new Set<string>()
  fc.assert(
    fc.property(propRun, fc.nat(), (records, cutAt) => {
      const cut = 1 + (cutAt % records.length)
      const evaluator = new FlagEvaluator()
      for (const record of records.slice(0, cut)) evaluator.apply(record)
      expect(evaluator.flags()).toEqual(evaluateFlags(records.slice(0, cut)))
      for (const record of records.slice(cut)) evaluator.apply(record)
      const whole = evaluateFlags(records)
      expect(evaluator.flags()).toEqual(whole)
      for (const flag of whole) fired.add(flag.rule === 'layer-off-target' ? `${flag.rule} ${flag.severity}` : flag.rule)
    }),
    { seed: 20250611, numRuns: 200 },
  )
  // the generated runs reach every rule
  expect([...fired].sort()).toEqual([...FLAG_RULES.filter((rule) => rule !== 'layer-off-target'), 'layer-off-target info', 'layer-off-target warning'].sort())
  let thinned = 0

  fc.assert(
    fc.property(propRun, fc.array(fc.nat(), { maxLength: 8 }), (records, cutAts) => {
      const store = new RunStore({ maxSampleBytesPerRun: 2048, now: () => 0 }) // thins after a few samples
      const cuts = [...new Set([...cutAts.map((at) => at % records.length), records.length])].sort((a, b) => a - b)
      let from = 0
      for (const cut of cuts) {
        store.ingest(records.slice(from, cut))
        from = cut
        if (cut > 0) expect(store.flags('p')).toEqual(evaluateFlags(records.slice(0, cut)))
      }
      if (store.snapshot('p')!.thinning) thinned++
    }),
    { seed: 20250611, numRuns: 200 },
  )
  expect(thinned).toBeGreaterThan(50)
})
