import { expect, test } from 'vitest'
import { applyToLayerHistory } from './applyToLayerHistory.js'
import type { LayerHistory } from './runViews.js'
import type { EventRecord, SampleRecord } from './schema.js'

const RUN = 'r1'
const sample = (seq: number, nnz: Record<string, number>): SampleRecord => ({
  type: 'sample', run: RUN, seq, step: seq * 10, time: seq, cost_ms: 1, step_ms: 5,
  layers: Object.entries(nnz).map(([name, n]) => ({
    name, nnz: n, numel: 16, sparsity: 1 - n / 16, bytes: 64, dense_bytes: 64, nonfinite: 0, hist: { lo: -1, hi: 1, counts: [n] },
  })),
})
const event = (seq: number, layer: string): EventRecord => ({
  type: 'event', run: RUN, seq, step: seq * 10, time: seq, layer, op: 'grow', count: 2, exact: true, algorithm: 'SET', requested: null, rows: null,
})
const empty: LayerHistory = { layer: 'fc1', points: [], events: [], lastSeq: 3 }

test("a sample adds the layer's point, an event of the layer its row; the old history is left as it was", () => {
  const grown = [sample(4, { fc1: 4, fc2: 1 }), event(5, 'fc1'), event(6, 'fc2'), sample(7, { fc2: 2 })].reduce(
    (history, record) => applyToLayerHistory(history, record),
    empty,
  )
  expect(grown.points.map((p) => [p.step, p.nnz, p.hist.counts[0]])).toEqual([[40, 4, 4]])
  expect(grown.events).toEqual([{ step: 50, layer: 'fc1', op: 'grow', count: 2, signed: 2 }])
  expect(grown.lastSeq).toBe(7)
  expect(empty).toEqual({ layer: 'fc1', points: [], events: [], lastSeq: 3 })
})

test('a record of another layer moves lastSeq on and keeps the arrays; one it already holds changes nothing', () => {
  const after = applyToLayerHistory(empty, event(4, 'fc2'))
  expect([after.lastSeq, after.points, after.events]).toEqual([4, empty.points, empty.events])
  expect(after.points).toBe(empty.points)
  expect(applyToLayerHistory(empty, sample(3, { fc1: 1 }))).toBe(empty)
})

test('thins the points back to `points`, the first and newest kept, once it holds twice as many', () => {
  const records = Array.from({ length: 5 }, (_, i) => sample(4 + i, { fc1: i }))
  const history = records.reduce((h, record) => applyToLayerHistory(h, record, { points: 2 }), empty)
  expect(history.points.map((p) => p.step)).toEqual([40, 80])
})
