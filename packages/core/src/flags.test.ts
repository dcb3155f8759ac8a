import fc from 'fast-check'
import { expect, test } from 'vitest'
import { evaluateFlags, FlagEvaluator, type Flag } from './flags.js'
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
  const records: WireRecord[] = [run, sample(0, fc1(100))]
  for (let step = 10; step <= 200; step += 10) records.push(event(step, 'drop', 10), event(step, 'grow', step % 50 ? 10 : 7), sample(step, fc1(100 + step)))
  const store = new RunStore({ maxSampleBytesPerRun: 4096 }) // forces thinning
  store.ingest(records)
  expect(store.snapshot('r')!.thinning).not.toBeNull()
  expect(store.flags('r')).toEqual(evaluateFlags(records))
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
