/**
 * What a sparse run is doing rather than where it stands: how much of each layer's topology each update
 * rewires, and how its active weights are distributed over time.
 */
import type { EventRecord, Histogram } from './schema.js'

/** One layer's (or the whole model's) topology update at one step. */
export interface ChurnRow {
  step: number
  /** The layer, or MODEL_CHURN for the whole model's updates. */
  layer: string
  drops: number
  grows: number
  /** Active connections before the update (the latest sample's nnz). */
  nnz: number
  /**
   * The share of the active connections the update replaced: max(drops, grows) / nnz. An update that drops
   * and regrows k of n connections rewires k / n; one that only prunes (or only grows) k, k / n.
   */
  churn: number
}

/** The `layer` of whole-model churn rows. */
export const MODEL_CHURN = 'all layers'

type TopologyEvent = Pick<EventRecord, 'step' | 'layer' | 'op' | 'count'>

/**
 * Drops and grows summed per step and layer (or per step over the whole model, with `model`), over the
 * active connections `nnzAt` gives for the first event of each update; an update whose nnz is unknown or 0
 * is left out. Rows come in step order, updates of one step in the order their first event came.
 * @example churnRows(history.events, nnzBefore(history.points, 'fc1'))[0] // { step: 100, layer: 'fc1', drops: 30, grows: 30, nnz: 300, churn: 0.1 }
 */
export function churnRows<E extends TopologyEvent>(events: readonly E[], nnzAt: (first: E) => number | undefined, model = false): ChurnRow[] {
  const updates = new Map<string, ChurnRow>()
  for (const e of events) {
    const key = model ? String(e.step) : `${e.step}\u0000${e.layer}`
    let row = updates.get(key)
    if (!row) updates.set(key, (row = { step: e.step, layer: model ? MODEL_CHURN : e.layer, drops: 0, grows: 0, nnz: nnzAt(e) ?? 0, churn: 0 }))
    if (e.op === 'drop') row.drops += e.count
    else row.grows += e.count
  }
  return [...updates.values()]
    .filter((row) => row.nnz > 0)
    .map((row) => ({ ...row, churn: Math.max(row.drops, row.grows) / row.nnz }))
    .sort((a, b) => a.step - b.step)
}

/**
 * The update's row folded into `rows` (its step's row grown, or appended): what churnRows gives for the
 * events so far plus this one, when events come in step order.
 */
export function addToChurn(rows: readonly ChurnRow[], update: ChurnRow): ChurnRow[] {
  let index = rows.length - 1 // events arrive in step order: their row, if any, is near the end
  while (index >= 0 && rows[index]!.step === update.step && rows[index]!.layer !== update.layer) index--
  const held = index >= 0 && rows[index]!.step === update.step ? rows[index]! : undefined
  if (!held) return [...rows, update]
  const drops = held.drops + update.drops
  const grows = held.grows + update.grows
  const merged = { ...held, drops, grows, churn: Math.max(drops, grows) / held.nnz }
  return rows.map((row) => (row === held ? merged : row))
}

/**
 * `nnzAt` for churnRows over one layer's points (oldest first): the nnz of the last point at or before the
 * event's step, or the first point for an event before any.
 */
export function nnzBefore(points: readonly { step: number; nnz: number }[]): (event: { step: number }) => number | undefined {
  return ({ step }) => {
    if (!points.length) return undefined
    let lo = 0
    let hi = points.length - 1
    if (points[0]!.step > step) return points[0]!.nnz
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (points[mid]!.step <= step) lo = mid
      else hi = mid - 1
    }
    return points[lo]!.nnz
  }
}

/** The percentiles a distribution band draws: the median, the middle half and the middle 90%. */
export const BAND_PERCENTILES = [5, 25, 50, 75, 95] as const

/** One layer's active-weight distribution at one step, as percentiles of its non-zero finite weights. */
export interface BandRow {
  step: number
  layer: string
  p5: number
  p25: number
  p50: number
  p75: number
  p95: number
}

/**
 * The value below which `q` (0..1) of a histogram's count lies, assuming values spread evenly within a bin;
 * NaN for an empty histogram.
 * @example histogramQuantile({ lo: 0, hi: 4, counts: [1, 1, 1, 1] }, 0.5) // 2
 */
export function histogramQuantile(hist: Histogram, q: number): number {
  const total = hist.counts.reduce((a, b) => a + b, 0)
  if (total === 0) return Number.NaN
  const width = (hist.hi - hist.lo) / hist.counts.length
  const target = q * total
  let below = 0
  for (let i = 0; i < hist.counts.length; i++) {
    const count = hist.counts[i]!
    if (count > 0 && below + count >= target) return hist.lo + width * (i + (target - below) / count)
    below += count
  }
  return hist.hi
}

/**
 * Percentile bands of each point's histogram: the distribution-over-time view (TensorBoard's, but of
 * the active weights only). Points whose histogram is empty (a layer with no non-zero weights) are left out.
 * @example bandRows(history.points.map((p) => ({ ...p, layer: 'fc1' })))
 */
export function bandRows(points: readonly { step: number; layer: string; hist: Histogram }[]): BandRow[] {
  return points.flatMap(({ step, layer, hist }) => {
    const [p5, p25, p50, p75, p95] = BAND_PERCENTILES.map((p) => histogramQuantile(hist, p / 100)) as [number, number, number, number, number]
    return Number.isNaN(p50) ? [] : [{ step, layer, p5, p25, p50, p75, p95 }]
  })
}
