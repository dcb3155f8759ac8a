import type { Histogram } from './schema.js'

/** Histograms moved onto one grid: `counts[k][i]` is how much of input `k` fell between `edges[i]` and `edges[i + 1]`. */
export interface RebinnedHistograms {
  /** `bins + 1` increasing edges, the same for every input; the first is the smallest `lo`, the last the largest `hi`. */
  edges: number[]
  /** One row per input, in input order, each `edges.length - 1` long and with the same total as its input. */
  counts: number[][]
}

// An overlap within this share of a bin's width of 0 or 1 is float noise from computing edges, not a split.
const SNAP = 1e-9

/**
 * Puts two or more histograms on ONE set of bin edges, so bars drawn together compare like with like.
 *
 * The grid: the union of the ranges (smallest `lo` to largest `hi`) cut into as many equal bins as the
 * input with the most bins has, so no histogram is shown finer than it was measured. Because a layer's
 * range only widens during a run, the latest histogram usually spans the union already and keeps its own
 * edges and counts unchanged.
 *
 * The counts: an input bin that lies inside one new bin moves there whole, so where the new grid equals
 * or coarsens an input's grid its counts stay integers and are exact. An input bin that straddles new
 * edges is split in proportion to the overlap (as if its values were spread evenly across it), which gives
 * fractional counts. Either way every input keeps its total.
 * @example
 * rebinHistograms([{ lo: -1, hi: 1, counts: [2, 6] }, { lo: -2, hi: 2, counts: [1, 3] }])
 * // { edges: [-2, 0, 2], counts: [[2, 6], [1, 3]] }
 */
export function rebinHistograms(histograms: readonly Histogram[]): RebinnedHistograms {
  if (histograms.length === 0) return { edges: [], counts: [] }
  const lo = Math.min(...histograms.map((h) => h.lo))
  const hi = Math.max(...histograms.map((h) => h.hi))
  const bins = Math.max(...histograms.map((h) => h.counts.length))
  const width = (hi - lo) / bins
  // The last edge is `hi` itself, not lo + bins·width, so the union range is covered to the last bit.
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width))
  return { edges, counts: histograms.map((h) => spread(h, edges, width)) }
}

function spread(hist: Histogram, edges: readonly number[], width: number): number[] {
  const bins = edges.length - 1
  const out = new Array<number>(bins).fill(0)
  const own = (hist.hi - hist.lo) / hist.counts.length
  hist.counts.forEach((count, i) => {
    if (count === 0) return
    const start = hist.lo + i * own
    const end = i === hist.counts.length - 1 ? hist.hi : start + own
    const first = clampBin(Math.floor((start - edges[0]!) / width + SNAP), bins)
    const last = clampBin(Math.ceil((end - edges[0]!) / width - SNAP) - 1, bins)
    if (first >= last) {
      out[first]! += count
      return
    }
    // Split by overlap; the last piece takes what is left so the bin's count is kept exactly.
    let left = count
    for (let j = first; j < last; j++) {
      const piece = (count * (Math.min(end, edges[j + 1]!) - Math.max(start, edges[j]!))) / (end - start)
      out[j]! += piece
      left -= piece
    }
    out[last]! += left
  })
  return out
}

function clampBin(index: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, index))
}
