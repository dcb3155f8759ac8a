/**
 * What a sparse run is doing rather than where it stands: how much of each layer's topology each update
 * rewires, and how its active weights are distributed over time.
 */
import type { EventRecord, Histogram, LayerSample } from './schema.js'
import { lastAtOrBefore } from './lastAtOrBefore.js'

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

/** The `layer` of whole-model rows: churn, exploration. */
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
  return ({ step }) => points[Math.max(0, lastAtOrBefore(points, step, (point) => point.step))]?.nnz
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

/** What exploration reads of a layer at a sample. */
export type ExplorationLayer = Pick<LayerSample, 'name' | 'nnz' | 'numel' | 'active_ever' | 'mask_changed'>

/** How far one layer (or, with `layer` MODEL_CHURN, the whole model) had explored its weights at one sample. */
export interface ExplorationRow {
  step: number
  /** The layer, or MODEL_CHURN for the whole model. */
  layer: string
  /**
   * In-time over-parameterization (Liu et al., ICML 2021): the share of the weights active at any point so far,
   * active_ever / numel; null where the sample does not say (a layer without a mask, an older profiler).
   */
  itop: number | null
  /**
   * The share of active positions that changed since the previous sample: mask_changed / (previous nnz + nnz),
   * 0 to 1, 0 when both are 0; null at the layer's first sample or where the previous sample lacks the layer.
   */
  maskDistance: number | null
}

export interface ExplorationOptions {
  /** A row per layer that carries active_ever or mask_changed. @default true */
  layers?: boolean
  /** A whole-model row (layer MODEL_CHURN) per sample where some layer carries them. @default true */
  model?: boolean
}

const share = (part: number, whole: number) => (whole > 0 ? part / whole : 0)

/**
 * The exploration rows of one sample, its mask distances over `previous` (the sample before it; none for the
 * first): each layer's, then the whole model's, ITOP = Σ active_ever / Σ numel and mask distance =
 * Σ mask_changed / Σ (previous nnz + nnz), each over the layers that say. A sample whose layers carry neither
 * count gives no row.
 * @example explorationAt(sample, previous) // [{ step: 100, layer: 'fc1', itop: 0.15625, maskDistance: 0.25 }, { step: 100, layer: 'all layers', … }]
 */
export function explorationAt(
  sample: { step: number; layers: readonly ExplorationLayer[] },
  previous: { layers: readonly ExplorationLayer[] } | null | undefined,
  options: ExplorationOptions = {},
): ExplorationRow[] {
  const { layers = true, model = true } = options
  const rows: ExplorationRow[] = []
  // sums over the layers that say, for the whole model's row
  let ever = 0
  let numel = 0
  let changed = 0
  let nnz = 0
  let itopSaid = false
  let distanceSaid = false
  let byName: Map<string, ExplorationLayer> | undefined
  sample.layers.forEach((layer, i) => {
    if (layer.active_ever === undefined && layer.mask_changed === undefined) return
    // samples list their layers in one order unless one joined or left: look them up by name only then
    const held = previous?.layers[i]
    const before = held?.name === layer.name ? held : (byName ??= new Map(previous?.layers.map((l) => [l.name, l]))).get(layer.name)
    const row: ExplorationRow = { step: sample.step, layer: layer.name, itop: null, maskDistance: null }
    if (layer.active_ever !== undefined) {
      row.itop = share(layer.active_ever, layer.numel)
      ever += layer.active_ever
      numel += layer.numel
      itopSaid = true
    }
    if (layer.mask_changed !== undefined && before) {
      row.maskDistance = share(layer.mask_changed, before.nnz + layer.nnz)
      changed += layer.mask_changed
      nnz += before.nnz + layer.nnz
      distanceSaid = true
    }
    if (layers) rows.push(row)
  })
  if (model && (itopSaid || distanceSaid))
    rows.push({ step: sample.step, layer: MODEL_CHURN, itop: itopSaid ? share(ever, numel) : null, maskDistance: distanceSaid ? share(changed, nnz) : null })
  return rows
}

/**
 * The exploration rows of consecutive samples (oldest first), each over the one before it: the whole run's
 * when `samples` are all of its samples.
 * @example explorationRows(snapshot.samples, { layers: false }) // whole-model rows only
 */
export function explorationRows(samples: readonly { step: number; layers: readonly ExplorationLayer[] }[], options: ExplorationOptions = {}): ExplorationRow[] {
  return samples.flatMap((sample, i) => explorationAt(sample, samples[i - 1], options))
}

/**
 * One layer's exploration rows from its points (oldest first), each over the point before it: exact when the
 * points are consecutive samples; over a thinned history the previous point held stands in for the sample
 * before (mask_changed still counts the changes since that sample, so the distance is approximate there).
 * @example layerExplorationRows(history.points)
 */
export function layerExplorationRows(points: readonly (ExplorationLayer & { step: number })[]): ExplorationRow[] {
  return points.flatMap((point, i) => explorationAt({ step: point.step, layers: [point] }, i > 0 ? { layers: [points[i - 1]!] } : null, { model: false }))
}

/** How much of an update's growth went back where the layer's previous update had pruned. */
export interface RegrowthRow {
  step: number
  layer: string
  grown: number
  /** Of `grown`, the positions the layer's previous update had dropped (EventRecord.regrown). */
  regrown: number
  /** regrown / grown: near 1, the update undid the previous one rather than exploring new positions. */
  share: number
}

/**
 * Regrowth per update (step and layer), from the grow events that say how many they regrew; updates that grew
 * nothing are left out. Rows come in step order.
 * @example regrowthRows(history.events) // [{ step: 100, layer: 'fc1', grown: 30, regrown: 6, share: 0.2 }]
 */
export function regrowthRows(events: readonly Pick<EventRecord, 'step' | 'layer' | 'op' | 'count' | 'regrown'>[]): RegrowthRow[] {
  const updates = new Map<string, RegrowthRow>()
  for (const e of events) {
    if (e.op !== 'grow' || e.regrown === undefined) continue
    const key = `${e.step}\u0000${e.layer}`
    const row = updates.get(key) ?? { step: e.step, layer: e.layer, grown: 0, regrown: 0, share: 0 }
    row.grown += e.count
    row.regrown += e.regrown
    updates.set(key, row)
  }
  return [...updates.values()]
    .filter((row) => row.grown > 0)
    .map((row) => ({ ...row, share: row.regrown / row.grown }))
    .sort((a, b) => a.step - b.step)
}
