import { expect, test } from 'vitest'
import { addToChurn, bandRows, churnRows, explorationAt, explorationRows, histogramQuantile, layerExplorationRows, nnzBefore, regrowthRows } from './dynamics.js'
import { describeSampling, intervalAt, rollingOverhead } from './profilerCost.js'
import type { SamplerRecord } from './schema.js'
import { describeSaving, memoryVsDense } from './totals.js'

const event = (step: number, layer: string, op: 'drop' | 'grow', count: number) => ({ step, layer, op, count })

test('churn: the larger of drops and grows over the active connections before the update', () => {
  const nnz = nnzBefore([{ step: 0, nnz: 400 }, { step: 100, nnz: 300 }, { step: 200, nnz: 200 }])
  const rows = churnRows(
    [event(100, 'fc1', 'drop', 30), event(100, 'fc1', 'grow', 30), event(150, 'fc1', 'drop', 20), event(250, 'fc1', 'grow', 50)],
    (e) => nnz(e),
  )
  expect(rows).toEqual([
    { step: 100, layer: 'fc1', drops: 30, grows: 30, nnz: 300, churn: 0.1 }, // rewired 30 of 300
    { step: 150, layer: 'fc1', drops: 20, grows: 0, nnz: 300, churn: 20 / 300 }, // pruned only
    { step: 250, layer: 'fc1', drops: 0, grows: 50, nnz: 200, churn: 0.25 }, // grown only
  ])
})

test('whole-model churn sums every layer of a step; an update with no known nnz is left out', () => {
  const events = [event(10, 'a', 'drop', 5), event(10, 'b', 'drop', 15), event(10, 'a', 'grow', 5), event(10, 'b', 'grow', 15), event(20, 'a', 'drop', 1)]
  expect(churnRows(events, (e) => (e.step === 10 ? 200 : undefined), true)).toEqual([
    { step: 10, layer: 'all layers', drops: 20, grows: 20, nnz: 200, churn: 0.1 },
  ])
})

test('a live update folded in equals the churn of all events at once', () => {
  const events = [event(10, 'a', 'drop', 4), event(10, 'b', 'drop', 2), event(10, 'a', 'grow', 4), event(20, 'a', 'drop', 1), event(20, 'a', 'grow', 3)]
  const nnz = () => 40
  const folded = events.reduce((rows, e) => addToChurn(rows, churnRows([e], nnz)[0]!), churnRows([], nnz))
  expect(folded).toEqual(churnRows(events, nnz))
})

test('nnzBefore takes the last point at or before the step, or the first one for an earlier step', () => {
  const nnz = nnzBefore([{ step: 10, nnz: 7 }, { step: 20, nnz: 5 }])
  expect([0, 10, 15, 20, 99].map((step) => nnz({ step }))).toEqual([7, 7, 7, 5, 5])
  expect(nnzBefore([])({ step: 1 })).toBeUndefined()
})

test('histogram percentiles interpolate within a bin, values spread evenly across it', () => {
  const hist = { lo: -1, hi: 1, counts: [10, 30, 40, 20] } // bins of width 0.5
  expect(histogramQuantile(hist, 0.5)).toBeCloseTo(0.125, 12) // 10 + 30 below 0; 10 of the next 40 → a quarter into [0, 0.5)
  expect(histogramQuantile(hist, 0.05)).toBeCloseTo(-0.75, 12) // 5 of the first 10
  expect(histogramQuantile(hist, 1)).toBe(1)
  expect(histogramQuantile({ lo: 0, hi: 1, counts: [0, 0] }, 0.5)).toBeNaN()
  expect(bandRows([{ step: 3, layer: 'fc1', hist: { lo: 0, hi: 100, counts: [100] } }])).toEqual([
    { step: 3, layer: 'fc1', p5: 5, p25: 25, p50: 50, p75: 75, p95: 95 },
  ])
  expect(bandRows([{ step: 3, layer: 'dead', hist: { lo: 0, hi: 0, counts: [0] } }])).toEqual([])
})

// fc1 and fc2 have masks (SparseLab, torch prune); head is dense and says neither count
const masked = (name: string, nnz: number, numel: number, counts: { active_ever?: number; mask_changed?: number } = {}) => ({ name, nnz, numel, ...counts })
const first = { step: 0, layers: [masked('fc1', 40, 400, { active_ever: 40 }), masked('fc2', 10, 100, { active_ever: 10 }), masked('head', 50, 50)] }
// fc1 rewired 12 of its 40 (12 dropped, 12 grown: 24 positions changed, all 12 grown new); fc2 pruned 2
const second = { step: 100, layers: [masked('fc1', 40, 400, { active_ever: 52, mask_changed: 24 }), masked('fc2', 8, 100, { active_ever: 10, mask_changed: 2 }), masked('head', 50, 50)] }

test('exploration: ITOP is active_ever over numel, mask distance the changes over both samples\' nnz; the model sums the layers that say', () => {
  expect(explorationAt(second, first)).toEqual([
    { step: 100, layer: 'fc1', itop: 52 / 400, maskDistance: 24 / (40 + 40) },
    { step: 100, layer: 'fc2', itop: 10 / 100, maskDistance: 2 / (10 + 8) },
    // head carries neither count: it is in no sum
    { step: 100, layer: 'all layers', itop: (52 + 10) / (400 + 100), maskDistance: (24 + 2) / (80 + 18) },
  ])
  // a layer's first sample has no mask distance yet
  expect(explorationAt(first, undefined)).toEqual([
    { step: 0, layer: 'fc1', itop: 0.1, maskDistance: null },
    { step: 0, layer: 'fc2', itop: 0.1, maskDistance: null },
    { step: 0, layer: 'all layers', itop: 50 / 500, maskDistance: null },
  ])
  expect(explorationAt(second, first, { layers: false })).toEqual([{ step: 100, layer: 'all layers', itop: 62 / 500, maskDistance: 26 / 98 }])
  expect(explorationAt(second, first, { model: false }).map((r) => r.layer)).toEqual(['fc1', 'fc2'])
  expect(explorationRows([first, second], { layers: false }).map((r) => [r.step, r.itop, r.maskDistance])).toEqual([[0, 0.1, null], [100, 0.124, 26 / 98]])
})

test('exploration: no rows for a dense run; 0 when both nnz are 0; a layer the previous sample lacks has no distance and stays out of the sum', () => {
  const dense = { step: 5, layers: [masked('head', 50, 50)] }
  expect(explorationRows([dense, { ...dense, step: 6 }])).toEqual([])
  const dead = { step: 10, layers: [masked('fc1', 0, 400, { active_ever: 40, mask_changed: 0 })] }
  expect(explorationAt(dead, { layers: [masked('fc1', 0, 400)] })).toEqual([
    { step: 10, layer: 'fc1', itop: 0.1, maskDistance: 0 },
    { step: 10, layer: 'all layers', itop: 0.1, maskDistance: 0 },
  ])
  // fc3 joined (after a storage change its counts restart), and the layers come in another order
  const joined = { step: 200, layers: [masked('fc3', 5, 20, { active_ever: 5, mask_changed: 3 }), masked('fc2', 8, 100, { active_ever: 12, mask_changed: 4 })] }
  expect(explorationAt(joined, second)).toEqual([
    { step: 200, layer: 'fc3', itop: 0.25, maskDistance: null },
    { step: 200, layer: 'fc2', itop: 0.12, maskDistance: 4 / 16 },
    { step: 200, layer: 'all layers', itop: 17 / 120, maskDistance: 4 / 16 },
  ])
})

test("a layer's exploration rows from its own points, each over the point before it", () => {
  const points = [first, second].map((s) => ({ ...s.layers[1]!, step: s.step }))
  expect(layerExplorationRows(points)).toEqual([
    { step: 0, layer: 'fc2', itop: 0.1, maskDistance: null },
    { step: 100, layer: 'fc2', itop: 0.1, maskDistance: 2 / 18 },
  ])
})

test('regrowth share per update: regrown over grown, summed over the grow events of a step and layer', () => {
  const grow = (step: number, layer: string, count: number, regrown?: number) => ({ step, layer, op: 'grow' as const, count, ...(regrown === undefined ? {} : { regrown }) })
  expect(
    regrowthRows([
      { step: 100, layer: 'fc1', op: 'drop', count: 30 },
      grow(100, 'fc1', 20, 5),
      grow(100, 'fc1', 10, 1), // a second grow of the same update
      grow(100, 'fc2', 8, 8),
      grow(50, 'fc1', 4, 0), // out of order: rows come by step
      grow(150, 'fc1', 0, 0), // grew nothing: no share
      grow(200, 'fc1', 9), // an older profiler's event: it does not say
    ]),
  ).toEqual([
    { step: 50, layer: 'fc1', grown: 4, regrown: 0, share: 0 },
    { step: 100, layer: 'fc1', grown: 30, regrown: 6, share: 0.2 },
    { step: 100, layer: 'fc2', grown: 8, regrown: 8, share: 1 },
  ])
})

const widened: SamplerRecord = { type: 'sampler', run: 'r', seq: 9, step: 300, time: 0, every: 40, overhead: 0.023 }

test('the rolling overhead is the recent cost over the training time the samples stood for', () => {
  const every = (step: number) => intervalAt(step, { every: 10 }, [widened])
  // 2 ms per sample every 10 steps of 100 ms, then 4 ms every 40 steps of 100 ms
  const points = [
    { step: 280, cost_ms: 2, step_ms: 100 },
    { step: 290, cost_ms: 2, step_ms: 100 },
    { step: 340, cost_ms: 4, step_ms: 100 },
    { step: 380, cost_ms: 4, step_ms: null },
  ]
  expect(rollingOverhead(points, every)).toBeCloseTo((2 + 2 + 4) / (1000 + 1000 + 4000), 12)
  expect(rollingOverhead([{ step: 0, cost_ms: 1, step_ms: null }], every)).toBeNull()
})

test('sampling and memory are said in words, with their baseline and one sign convention', () => {
  expect(describeSampling({ every: 10, budget: 0.01 }, [])).toBe('every 10 steps, as requested')
  expect(describeSampling({ every: 10, budget: 0.01 }, [widened])).toBe('every 40 steps since step 300, widened from 10 when it cost 2.3%, to stay under the 1% budget')
  expect(describeSampling({ every: 1, budget: null }, [])).toBe('every step (fixed)')
  expect(describeSampling({ every: 40, budget: 0.01 }, [widened, { ...widened, step: 900, every: 20, overhead: 0.002 }])).toBe(
    'every 20 steps since step 900, narrowed from 40: the cost fell to 0.2%, within the 1% budget',
  )
  expect(describeSaving(240_640, 337_920)).toBe('235 KiB saved: 71% of the 330 KiB dense baseline')
  expect(describeSaving(-2_355, 10_240)).toBe('2.30 KiB more than dense: 23% of the 10.0 KiB dense baseline')
  expect(describeSaving(0, 10)).toBe('same as dense')
  expect(memoryVsDense(1024, 5120)).toBe('4.00 KiB less than dense')
  expect(memoryVsDense(5120, 1024)).toBe('4.00 KiB more than dense')
})
