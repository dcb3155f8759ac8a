import { expect, test } from 'vitest'
import { compareRuns, sparsityDifferenceMatrix, summaryRows } from './compareRuns.js'
import { evaluateFlags } from './flags.js'
import { RunStore } from './RunStore.js'
import { runOverview } from './runViews.js'
import type { LayerInfo, LayerSample, WireRecord } from './schema.js'

const info = (name: string): LayerInfo => ({ name, shape: [10, 10], numel: 100, dtype: 'float32', format: 'dense_masked', mask_source: 'torch_prune' })
const layer = (name: string, nnz: number): LayerSample => ({
  name, nnz, numel: 100, sparsity: 1 - nnz / 100, bytes: 4 * nnz, dense_bytes: 400, hist: { lo: -1, hi: 1, counts: [nnz] }, nonfinite: 0,
})

/** A run of `steps` steps, sampled every 10, with one update every 20 steps rewiring `rewire` connections of fc1. */
function run(id: string, params: Record<string, number>, layers: string[], steps: number, rewire: number, nnzAt: (step: number) => number): WireRecord[] {
  let seq = 0
  const records: WireRecord[] = [{
    type: 'run', run: id, seq: seq++, name: id, started: 1000, schema: 1, host: 'h', profiler: 'p',
    algorithm: { name: params.update_freq ? 'RigL' : 'SET', params }, layers: layers.map(info), sampler: { every: 10, budget: null },
  }]
  for (let step = 0; step <= steps; step += 10) {
    if (step > 0 && step % 20 === 0)
      for (const op of ['drop', 'grow'] as const)
        records.push({ type: 'event', run: id, seq: seq++, step, time: 1000 + step, layer: 'fc1', op, count: rewire, exact: true, algorithm: 'x', requested: null, rows: null })
    records.push({
      type: 'sample', run: id, seq: seq++, step, time: 1000 + step, cost_ms: 1, step_ms: 10,
      layers: layers.map((name) => layer(name, nnzAt(step))), scalars: { loss: 2 - step / steps },
    })
  }
  records.push({ type: 'end', run: id, seq: seq++, step: steps, time: 1000 + steps + 0.5, status: 'finished' })
  return records
}

function compared(...logs: WireRecord[][]) {
  const store = new RunStore()
  return logs.map((records) => {
    store.ingest(records)
    return { overview: runOverview(store.snapshot(records[0]!.run)!, 300), flags: evaluateFlags(records) }
  })
}

test('the summary holds each run’s numbers and names the parameters that differ', () => {
  const a = run('a', { sparsity: 0.9, drop_fraction: 0.3, update_freq: 20 }, ['fc1', 'fc2'], 100, 3, () => 10)
  const b = run('b', { sparsity: 0.9, drop_fraction: 0.5, update_freq: 20 }, ['fc1', 'fc2'], 100, 5, () => 10)
  const { summary, differingParams, algorithmDiffers, sharedLayers, onlyIn } = compareRuns(compared(a, b))
  expect(differingParams).toEqual(['drop_fraction'])
  expect(algorithmDiffers).toBe(false)
  expect(sharedLayers).toEqual(['fc1', 'fc2'])
  expect(onlyIn).toEqual([{ run: 'a', layers: [] }, { run: 'b', layers: [] }])
  // a: updates at 20, 40, 60, 80, 100 rewire 3 each over 20 active weights; the last quarter (steps > 75): 80 and 100
  expect(summary[0]).toEqual({
    run: 'a', name: 'a', algorithm: 'RigL', params: { sparsity: 0.9, drop_fraction: 0.3, update_freq: 20 }, steps: 100, wallSeconds: 100.5,
    sparsity: 0.9, nnz: 20, bytes: 80, denseBytes: 800, savedBytes: 720, churnTotal: 15 / 20, churnLate: 3 / 20, updates: 5,
    flags: { info: 0, warning: 0, critical: 0 }, overhead: 1 / 100, finalLoss: 1,
  })
  expect([summary[1]!.churnTotal, summary[1]!.churnLate]).toEqual([25 / 20, 5 / 20])
})

test('layers are matched by name; an extra and a renamed layer are listed under their run', () => {
  const a = run('a', { sparsity: 0.9 }, ['fc1', 'fc2', 'head'], 40, 1, () => 10)
  const b = run('b', { sparsity: 0.9, seed: 1 }, ['fc1', 'fc2_renamed', 'head', 'extra'], 40, 1, () => 10)
  const comparison = compareRuns(compared(a, b))
  expect(comparison.sharedLayers).toEqual(['fc1', 'head'])
  expect(comparison.onlyIn).toEqual([{ run: 'a', layers: ['fc2'] }, { run: 'b', layers: ['fc2_renamed', 'extra'] }])
  expect(comparison.differingParams).toEqual(['seed']) // one run lacks it
  expect(new Set(comparison.sparsityDifference.map((d) => d.layer))).toEqual(new Set(['fc1', 'head']))
})

test('differences hold the first run’s last value, on steps or on the fraction of training', () => {
  // a: 100 steps, nnz 10 → 20 at step 50; b: 200 steps, nnz 30 throughout
  const a = run('a', {}, ['fc1'], 100, 1, (step) => (step < 50 ? 10 : 20))
  const b = run('b', {}, ['fc1'], 200, 1, () => 30)
  const bySteps = compareRuns(compared(a, b), 'step').sparsityDifference
  expect(bySteps.filter((d) => [40, 50, 150].includes(d.x)).map((d) => [d.x, Number(d.delta.toFixed(6))])).toEqual([[40, -0.2], [50, -0.1], [150, -0.1]])
  const byFraction = compareRuns(compared(a, b), 'fraction').sparsityDifference
  // b's step 80 is 40% of its run; a at 40% (step 40) had 10 active
  expect(byFraction.filter((d) => [0.4, 0.5].includes(d.x)).map((d) => [d.x, Number(d.delta.toFixed(6))])).toEqual([[0.4, -0.2], [0.5, -0.1]])
  expect(() => compareRuns(compared(a))).toThrow('a comparison takes 2 to 4 runs, got 1')
})

test('summary rows format each number with its unit and mark what differs', () => {
  const a = run('a', { sparsity: 0.9, drop_fraction: 0.3, update_freq: 20 }, ['fc1', 'fc2'], 100, 3, () => 10)
  const b = run('b', { sparsity: 0.9, drop_fraction: 0.5, update_freq: 20 }, ['fc1', 'fc2'], 100, 5, () => 10)
  const rows = summaryRows(compareRuns(compared(a, b)))
  const cells = Object.fromEntries(rows.map((r) => [r.label, [r.differs, ...r.cells]]))
  expect(cells).toEqual({
    Run: [false, 'a (a)', 'b (b)'],
    Algorithm: [false, 'RigL', 'RigL'],
    sparsity: [false, '0.9', '0.9'],
    drop_fraction: [true, '0.3', '0.5'],
    update_freq: [false, '20', '20'],
    Steps: [false, '100', '100'],
    'Wall time': [false, '1 min 41 s', '1 min 41 s'],
    Sparsity: [false, '90.00%', '90.00%'],
    'Active weights': [false, '20', '20'],
    'Memory vs dense': [false, '720 B saved: 90% of the 800 B dense baseline', '720 B saved: 90% of the 800 B dense baseline'],
    'Churn, whole run': [false, '75.00% rewired in 5 updates', '125.00% rewired in 5 updates'],
    'Churn, last quarter': [false, '15.00% per update', '25.00% per update'],
    Flags: [false, '0 critical, 0 warning, 0 info', '0 critical, 0 warning, 0 info'],
    'Profiler cost': [false, '1.00% of training time', '1.00% of training time'],
    'Final loss': [false, '1', '1'],
  })
})

test('sparsityDifferenceMatrix holds, cell for cell, the differences compareRuns lists as points', () => {
  // a: 100 steps, its step-50 sample without fc2 (held from step 40); b: 200 steps with a layer a lacks
  const a = run('a', {}, ['fc1', 'fc2', 'head'], 100, 1, (step) => (step < 50 ? 10 : 20)).map((r) =>
    r.type === 'sample' && r.step === 50 ? { ...r, layers: r.layers.filter((l) => l.name !== 'fc2') } : r,
  )
  const b = run('b', {}, ['fc1', 'extra', 'fc2', 'head'], 200, 1, (step) => 30 + (step % 7))
  for (const alignment of ['step', 'fraction'] as const) {
    const runs = compared(a, b)
    const [matrix] = sparsityDifferenceMatrix(runs.map((r) => r.overview), alignment)
    expect(matrix!.run).toBe('b')
    expect(matrix!.layers).toEqual(['fc1', 'fc2', 'head'])
    const cells = matrix!.x.flatMap((x, i) => matrix!.layers.flatMap((layer, j) => (matrix!.delta[i]![j] === null ? [] : [{ run: 'b', layer, x, delta: matrix!.delta[i]![j]! }])))
    expect(cells).toEqual(compareRuns(runs, alignment).sparsityDifference.sort((p, q) => p.x - q.x || matrix!.layers.indexOf(p.layer) - matrix!.layers.indexOf(q.layer)))
    expect(cells.length).toBe(21 * 3)
  }
  expect(sparsityDifferenceMatrix([])).toEqual([])
})

test('options.layers limits the per-layer points to those layers; churn comes as points on the same axis', () => {
  const a = run('a', {}, ['fc1', 'fc2'], 100, 3, () => 10)
  const b = run('b', {}, ['fc1', 'fc2'], 200, 5, () => 10)
  const all = compareRuns(compared(a, b), 'fraction')
  const one = compareRuns(compared(a, b), 'fraction', { layers: ['fc2'] })
  expect(new Set(one.sparsity.map((p) => p.layer))).toEqual(new Set(['fc2']))
  expect(one.sparsity).toEqual(all.sparsity.filter((p) => p.layer === 'fc2'))
  expect(one.sparsityDifference).toEqual(all.sparsityDifference.filter((p) => p.layer === 'fc2'))
  expect(compareRuns(compared(a, b), 'step', { layers: [] }).sparsity).toEqual([])
  // model sparsity, summary and churn do not depend on it
  expect([one.modelSparsity, one.summary, one.churn]).toEqual([all.modelSparsity, all.summary, all.churn])
  // fc1's updates: a at 20, 40, … (of 100 steps), b at 20, 40, … (of 200), each rewiring `rewire` of its 10 active
  expect(all.churn.filter((p) => p.run === 'a' && p.step === 40)).toEqual([{ run: 'a', layer: 'fc1', step: 40, x: 0.4, value: 3 / 10 }])
  expect(all.churn.filter((p) => p.run === 'b' && p.step === 40)).toEqual([{ run: 'b', layer: 'fc1', step: 40, x: 0.2, value: 5 / 10 }])
})
