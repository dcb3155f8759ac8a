import fc from 'fast-check'
import { expect, test } from 'vitest'
import { rebinHistograms } from './rebinHistograms.js'
import type { Histogram } from './schema.js'

test('a finer, narrower histogram is coarsened exactly onto the wider one', () => {
  // Step 0 spans [-1, 1] in bins of 0.5; the last step widened to [-2, 2] in bins of 1. Shared grid:
  // [-2, 2] in 4 bins of 1, the last step's own. Step 0's bins [-1, -0.5) and [-0.5, 0) both lie in
  // [-1, 0): 4 + 2 = 6; [0, 0.5) and [0.5, 1] lie in [0, 1): 6 + 8 = 14.
  const first: Histogram = { lo: -1, hi: 1, counts: [4, 2, 6, 8] }
  const last: Histogram = { lo: -2, hi: 2, counts: [1, 3, 5, 7] }
  expect(rebinHistograms([first, last])).toEqual({ edges: [-2, -1, 0, 1, 2], counts: [[0, 6, 14, 0], [1, 3, 5, 7]] })
})

test('a bin that straddles new edges is split in proportion to the overlap', () => {
  // Union [0, 4] in 3 bins (the most any input has): edges 0, 4/3, 8/3, 4.
  // a = [0,1):3 [1,2):6 [2,3]:9 → bin 0 gets 3 + 6·(1/3) = 5; bin 1 gets 6·(2/3) + 9·(2/3) = 10; bin 2 gets 9·(1/3) = 3.
  // b = [0,2):1 [2,4]:1 → bin 0 gets 2/3; bin 1 gets 1/3 + 1/3; bin 2 gets 2/3.
  const { edges, counts } = rebinHistograms([{ lo: 0, hi: 3, counts: [3, 6, 9] }, { lo: 0, hi: 4, counts: [1, 1] }])
  expect(edges).toHaveLength(4)
  ;[0, 4 / 3, 8 / 3, 4].forEach((edge, i) => expect(edges[i]).toBeCloseTo(edge, 12))
  ;[5, 10, 3].forEach((count, i) => expect(counts[0]![i]).toBeCloseTo(count, 12))
  ;[2 / 3, 2 / 3, 2 / 3].forEach((count, i) => expect(counts[1]![i]).toBeCloseTo(count, 12))
})

test('no histograms, no grid; one histogram keeps its own', () => {
  expect(rebinHistograms([])).toEqual({ edges: [], counts: [] })
  expect(rebinHistograms([{ lo: -1, hi: 1, counts: [3, 0, 5, 2] }])).toEqual({ edges: [-1, -0.5, 0, 0.5, 1], counts: [[3, 0, 5, 2]] })
})

const histogram = fc
  .record({
    lo: fc.double({ min: -10, max: 10, noNaN: true }),
    width: fc.double({ min: 1e-3, max: 10, noNaN: true }),
    counts: fc.array(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 64 }),
  })
  .map(({ lo, width, counts }): Histogram => ({ lo, hi: lo + width, counts }))

test('every input keeps its total, on one grid that covers every range', () => {
  fc.assert(
    fc.property(fc.array(histogram, { minLength: 2, maxLength: 4 }), (hists) => {
      const { edges, counts } = rebinHistograms(hists)
      expect(edges).toHaveLength(Math.max(...hists.map((h) => h.counts.length)) + 1)
      expect(edges[0]).toBe(Math.min(...hists.map((h) => h.lo)))
      expect(edges.at(-1)).toBe(Math.max(...hists.map((h) => h.hi)))
      for (let i = 1; i < edges.length; i++) expect(edges[i]!).toBeGreaterThan(edges[i - 1]!)
      hists.forEach((h, k) => {
        const total = h.counts.reduce((a, b) => a + b, 0)
        expect(counts[k]).toHaveLength(edges.length - 1)
        expect(Math.abs(counts[k]!.reduce((a, b) => a + b, 0) - total)).toBeLessThanOrEqual(1e-9 * Math.max(1, total))
        for (const c of counts[k]!) expect(c).toBeGreaterThanOrEqual(-1e-9 * Math.max(1, total))
      })
    }),
    { seed: 20250415, numRuns: 300 },
  )
})

// A narrower histogram whose bins cut bins a..a+spans of a wider one into f each, as a layer's range widens.
const nested = fc
  .record({ lo: fc.double({ min: -10, max: 10, noNaN: true }), w: fc.double({ min: 1e-3, max: 1, noNaN: true }), n: fc.integer({ min: 2, max: 64 }), cut: fc.integer({ min: 1, max: 4 }) })
  .chain(({ lo, w, n, cut }) => {
    const f = Math.min(cut, n)
    return fc
      .record({
        outer: fc.array(fc.nat({ max: 1000 }), { minLength: n, maxLength: n }),
        a: fc.integer({ min: 0, max: n - 1 }),
        inner: fc.array(fc.nat({ max: 1000 }), { minLength: f, maxLength: n }),
      })
      .map(({ outer, a, inner }) => {
        const spans = Math.max(1, Math.min(n - a, Math.floor(inner.length / f)))
        return { lo, w, n, f, a, outer, inner: inner.slice(0, spans * f), spans }
      })
  })

test("counts stay whole integers where an input's bins lie inside the shared bins", () => {
  fc.assert(
    fc.property(nested, ({ lo, w, n, f, a, outer, inner, spans }) => {
      const wide: Histogram = { lo, hi: lo + n * w, counts: outer }
      const narrow: Histogram = { lo: lo + a * w, hi: lo + (a + spans) * w, counts: inner }
      const expected = new Array<number>(n).fill(0)
      inner.forEach((c, j) => (expected[a + Math.floor(j / f)]! += c))
      expect(rebinHistograms([narrow, wide]).counts).toEqual([expected, outer])
    }),
    { seed: 20250415, numRuns: 300 },
  )
})
