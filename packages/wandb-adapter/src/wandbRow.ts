import type { EventRecord, Histogram, SampleRecord, WireRecord } from '@sparselab-profiler/core'

/**
 * Record → W&B row: the one mapping. The Python callback's `wandb_forward.py` writes the same rows into the
 * user's own run and is held to this module by the shared vector `test/vectors/wandb.json`.
 */

export const WANDB_PREFIX = 'sparselab/'
/** The step metric every `sparselab/*` key is plotted against: the training step. */
export const WANDB_STEP_METRIC = 'sparselab/step'
/** W&B rejects histograms of more bins; larger ones are merged pairwise down to it. */
export const MAX_WANDB_BINS = 512
/** Layers with per-layer keys: the largest by numel; the others count in the model totals only. */
export const DEFAULT_MAX_LAYERS = 64

/** A histogram as W&B stores it in a history row (`wandb.Histogram(np_histogram=…)`): counts and their edges. */
export interface WandbHistogram {
  _type: 'histogram'
  values: number[]
  bins: number[]
}

export type WandbRow = Record<string, number | WandbHistogram>

/**
 * Merges neighbouring bins pairwise until at most `most` remain; an odd last bin stays alone, so every merged
 * edge is one of the original edges and the counts stay exact.
 * @example mergeBins([1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5], 3) // { counts: [3, 7, 5], edges: [0, 2, 4, 5] }
 */
export function mergeBins(counts: readonly number[], edges: readonly number[], most = MAX_WANDB_BINS): { counts: number[]; edges: number[] } {
  let c = [...counts]
  let e = [...edges]
  while (c.length > most) {
    const merged: number[] = []
    for (let i = 0; i < c.length; i += 2) merged.push(c[i]! + (c[i + 1] ?? 0))
    const odd = (e.length - 1) % 2 === 1
    e = [...e.filter((_, i) => i % 2 === 0), ...(odd ? [e.at(-1)!] : [])]
    c = merged
  }
  return { counts: c, edges: e }
}

/** The edges of a histogram's equal bins over [lo, hi], computed as numpy's `linspace` does (bit for bit). */
export function histogramEdges(hist: Histogram): number[] {
  const n = hist.counts.length
  const step = (hist.hi - hist.lo) / n
  return Array.from({ length: n + 1 }, (_, i) => (i === n ? hist.hi : i * step + hist.lo))
}

/** The names of the `maxLayers` largest layers by numel, in the sample's order (ties: the sample's order). */
export function largestLayers(sample: SampleRecord, maxLayers: number): string[] {
  const order = sample.layers.map((_, i) => i).sort((a, b) => sample.layers[b]!.numel - sample.layers[a]!.numel || a - b)
  return order
    .slice(0, maxLayers)
    .sort((a, b) => a - b)
    .map((i) => sample.layers[i]!.name)
}

/**
 * One W&B row for a sample and the drop/grow events since the previous forwarded one: model totals, and per
 * layer (only the `maxLayers` largest by numel) sparsity, nnz, the histogram of its non-zero weights and drops/grows.
 * @example wandbRow(sample, events)['sparselab/layer/fc1/sparsity'] // 0.9
 */
export function wandbRow(sample: SampleRecord, events: readonly EventRecord[] = [], maxLayers = DEFAULT_MAX_LAYERS): WandbRow {
  const drops = new Map<string, number>()
  const grows = new Map<string, number>()
  for (const event of events) {
    const into = event.op === 'drop' ? drops : grows
    into.set(event.layer, (into.get(event.layer) ?? 0) + event.count)
  }
  const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0)
  const nnz = sum(sample.layers.map((layer) => layer.nnz))
  const numel = sum(sample.layers.map((layer) => layer.numel))
  const row: WandbRow = {
    [WANDB_STEP_METRIC]: sample.step,
    'sparselab/model/sparsity': numel ? 1 - nnz / numel : 0,
    'sparselab/model/nnz': nnz,
    'sparselab/model/bytes': sum(sample.layers.map((layer) => layer.bytes)),
    'sparselab/model/dense_bytes': sum(sample.layers.map((layer) => layer.dense_bytes)),
    'sparselab/model/drops': sum(drops.values()),
    'sparselab/model/grows': sum(grows.values()),
  }
  const keep = new Set(largestLayers(sample, maxLayers))
  for (const layer of sample.layers) {
    if (!keep.has(layer.name)) continue
    const key = `sparselab/layer/${layer.name}/`
    const { counts, edges } = mergeBins(layer.hist.counts, histogramEdges(layer.hist))
    row[`${key}sparsity`] = layer.sparsity
    row[`${key}nnz`] = layer.nnz
    row[`${key}hist`] = { _type: 'histogram', values: counts, bins: edges }
    row[`${key}drops`] = drops.get(layer.name) ?? 0
    row[`${key}grows`] = grows.get(layer.name) ?? 0
  }
  return row
}

export interface WandbRowsOptions {
  /** Forward every this many samples; the events in between add up into the next. @default 1 */
  every?: number
  /** @default DEFAULT_MAX_LAYERS */
  maxLayers?: number
}

/**
 * A run's records in order → its W&B rows, as the Python forwarder makes them: a row per `every`-th sample,
 * counting the drop/grow events at or before its step that no earlier row counted.
 * @example const rows = new WandbRows(); for (const r of records) { const row = rows.add(r); if (row) send(row) }
 */
export class WandbRows {
  readonly #every: number
  readonly #maxLayers: number
  #events: EventRecord[] = []
  #samples = 0

  constructor(options: WandbRowsOptions = {}) {
    this.#every = options.every ?? 1
    this.#maxLayers = options.maxLayers ?? DEFAULT_MAX_LAYERS
    if (!(Number.isInteger(this.#every) && this.#every >= 1)) throw new Error(`every must be a whole number ≥ 1, got ${options.every}`)
  }

  /** The row this record completes, if any. */
  add(record: WireRecord): WandbRow | undefined {
    if (record.type === 'event') this.#events.push(record)
    if (record.type !== 'sample') return undefined
    this.#samples += 1
    if ((this.#samples - 1) % this.#every) return undefined
    const counted = this.#events.filter((event) => event.step <= record.step)
    this.#events = this.#events.filter((event) => event.step > record.step)
    return wandbRow(record, counted, this.#maxLayers)
  }
}
