import { rebinHistograms } from './rebinHistograms.js'
import type { EventRecord, Histogram, SampleRecord } from './schema.js'

/** A Vega-Lite v6 specification as plain JSON. */
export type VegaLiteSpec = { $schema: string } & Record<string, unknown>

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'

/** Names of the datasets inside the specs; a live view inserts new rows into them by name. */
export const DATASET = { sparsity: 'sparsity', histogram: 'histogram', events: 'events', eventMarks: 'event_marks' } as const

/** Above this many layers the sparsity chart becomes a layer × step heatmap. */
export const HEATMAP_LAYER_THRESHOLD = 12

export interface SparsityRow {
  step: number
  layer: string
  sparsity: number
}

export interface HistogramRow {
  bin_start: number
  bin_end: number
  /** Values in the bin; fractional where a bin was split to fit shared edges (see rebinHistograms). */
  count: number
  /** `count` over its series' total: what the chart draws, so series of different sizes compare. 0 for an empty histogram. */
  share: number
  /** Which histogram the bar belongs to when two are compared, e.g. 'step 120'. */
  series: string
}

export interface EventRow {
  step: number
  layer: string
  op: EventRecord['op']
  count: number
  /** Drops are drawn below the axis, grows above it. */
  signed: number
}

/** One row per layer per sample. */
export function sparsityRows(samples: readonly SampleRecord[]): SparsityRow[] {
  return samples.flatMap((s) => s.layers.map((l) => ({ step: s.step, layer: l.name, sparsity: l.sparsity })))
}

/** Bin edges spelled out, so the chart needs no knowledge of the histogram encoding. */
export function histogramRows(hist: Histogram, series = 'now'): HistogramRow[] {
  return comparedHistogramRows([{ hist, series }])
}

/**
 * Rows of histograms drawn together, all on the same bin edges (`rebinHistograms`), so every series'
 * bars start and end at the same values and their shares compare like with like.
 * @example comparedHistogramRows([{ hist: first.hist, series: 'step 0' }, { hist: last.hist, series: 'step 100' }])
 */
export function comparedHistogramRows(histograms: readonly { hist: Histogram; series: string }[]): HistogramRow[] {
  const { edges, counts } = rebinHistograms(histograms.map((h) => h.hist))
  return histograms.flatMap(({ series }, k) => {
    const total = counts[k]!.reduce((a, b) => a + b, 0)
    return counts[k]!.map((count, i) => ({ bin_start: edges[i]!, bin_end: edges[i + 1]!, count, share: total > 0 ? count / total : 0, series }))
  })
}

/** Topology events, optionally of one layer only. */
export function eventRows(events: readonly EventRecord[], layer?: string): EventRow[] {
  return events
    .filter((e) => layer === undefined || e.layer === layer)
    .map((e) => ({ step: e.step, layer: e.layer, op: e.op, count: e.count, signed: e.op === 'drop' ? -e.count : e.count }))
}

/** All layers' events summed per step and operation: what the all-layers timeline and chart rules draw. */
export function eventsPerStep(events: readonly EventRecord[]): EventRow[] {
  const sums = new Map<string, EventRow>()
  for (const e of events) {
    const key = `${e.step}:${e.op}`
    const row = sums.get(key) ?? { step: e.step, layer: 'all layers', op: e.op, count: 0, signed: 0 }
    row.count += e.count
    row.signed += e.op === 'drop' ? -e.count : e.count
    sums.set(key, row)
  }
  return [...sums.values()]
}

const SPARSITY_TOOLTIP = [
  { field: 'layer', type: 'nominal', title: 'Layer' },
  { field: 'step', type: 'quantitative', title: 'Step' },
  { field: 'sparsity', type: 'quantitative', title: 'Sparsity', format: '.2%' },
]

/**
 * Per-layer sparsity over training steps: one line per layer, with the steps where the topology changed
 * drawn as faint rules; past HEATMAP_LAYER_THRESHOLD layers, a layer × step heatmap instead.
 * @example sparsitySpec(sparsityRows(snapshot.samples), eventRows(snapshot.events), snapshot.run.layers.length)
 */
export function sparsitySpec(rows: readonly SparsityRow[], events: readonly EventRow[] = [], layerCount = 0): VegaLiteSpec {
  const base = {
    $schema: SCHEMA,
    description: 'Per-layer sparsity over training steps',
    width: 'container',
    datasets: { [DATASET.sparsity]: rows, [DATASET.eventMarks]: events },
  }
  if (layerCount > HEATMAP_LAYER_THRESHOLD) {
    return {
      ...base,
      height: Math.min(12 * layerCount, 2400),
      data: { name: DATASET.sparsity },
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'Training step', bin: { maxbins: 120 } },
        y: { field: 'layer', type: 'nominal', title: 'Layer', sort: null, axis: { labelLimit: 220 } },
        color: { field: 'sparsity', type: 'quantitative', aggregate: 'mean', title: 'Sparsity', scale: { scheme: 'viridis', domain: [0, 1] }, legend: { format: '.0%' } },
        tooltip: [
          { field: 'layer', type: 'nominal', title: 'Layer' },
          { field: 'step', type: 'quantitative', title: 'Steps', bin: { maxbins: 120 } },
          { field: 'sparsity', type: 'quantitative', aggregate: 'mean', title: 'Sparsity', format: '.2%' },
        ],
      },
    }
  }
  return {
    ...base,
    height: 260,
    layer: [
      {
        data: { name: DATASET.eventMarks },
        mark: { type: 'rule', opacity: 0.25, strokeDash: [2, 2] },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          color: { value: '#888' },
          tooltip: [
            { field: 'step', type: 'quantitative', title: 'Topology change at step' },
            { field: 'layer', type: 'nominal', title: 'Layer' },
            { field: 'op', type: 'nominal', title: 'Operation' },
            { field: 'count', type: 'quantitative', title: 'Count' },
          ],
        },
      },
      {
        data: { name: DATASET.sparsity },
        mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'Training step' },
          y: { field: 'sparsity', type: 'quantitative', title: 'Sparsity', axis: { format: '.0%' }, scale: { zero: false } },
          color: { field: 'layer', type: 'nominal', title: 'Layer' },
          tooltip: SPARSITY_TOOLTIP,
        },
      },
    ],
  }
}

/** What a weight histogram counts and draws, in words its reader sees under the title. */
// Short lines: the inspector draws the histogram in half a column.
export const HISTOGRAM_SUBTITLE = [
  "Share of each step's finite non-zero weights per bin,",
  'on the same bins for every step shown.',
  'Values near 0 include recently grown connections',
  '(RigL grows them at 0).',
]

/**
 * Histogram of one layer's finite non-zero weights, as each bin's share of its series' total: shares, not
 * counts, because a pruned layer keeps a fraction of the weights it started with, and raw counts would
 * dwarf the later step; the count stays in the tooltip. Rows of more than one series must come from
 * `comparedHistogramRows`, so they share bin edges. Without `step` the spec stays the same while a live
 * view swaps in each new sample's rows.
 * @example histogramSpec(comparedHistogramRows([{ hist: a, series: 'step 0' }, { hist: b, series: 'step 120' }]), { layer: 'fc1' })
 */
export function histogramSpec(rows: readonly HistogramRow[], at: { layer: string; step?: number }): VegaLiteSpec {
  const where = at.step === undefined ? at.layer : `${at.layer} · step ${at.step}`
  return {
    $schema: SCHEMA,
    description: `Share of the finite non-zero weights of ${where} per bin`,
    title: { text: where, subtitle: HISTOGRAM_SUBTITLE, subtitleFontSize: 11 },
    width: 'container',
    height: 200,
    datasets: { [DATASET.histogram]: rows },
    data: { name: DATASET.histogram },
    mark: { type: 'bar', binSpacing: 0, opacity: 0.6 },
    encoding: {
      x: { field: 'bin_start', type: 'quantitative', title: 'Weight value', bin: { binned: true } },
      x2: { field: 'bin_end' },
      y: { field: 'share', type: 'quantitative', title: 'Share of non-zero weights', stack: null, axis: { format: '.1~%' } },
      color: { field: 'series', type: 'nominal', title: 'Histogram', legend: { orient: 'top' } },
      tooltip: [
        { field: 'series', type: 'nominal', title: 'Histogram' },
        { field: 'bin_start', type: 'quantitative', title: 'From', format: '.4f' },
        { field: 'bin_end', type: 'quantitative', title: 'To', format: '.4f' },
        { field: 'share', type: 'quantitative', title: 'Share', format: '.2%' },
        { field: 'count', type: 'quantitative', title: 'Weights (split bins: fractional)', format: ',.1~f' },
      ],
    },
  }
}

/**
 * Drop (below the axis) and grow (above) counts per algorithm update.
 * @example eventsSpec(eventRows(snapshot.events, 'fc1'), { layer: 'fc1' })
 */
export function eventsSpec(rows: readonly EventRow[], scope: { layer?: string } = {}): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    description: `Drop/grow events${scope.layer ? ` of ${scope.layer}` : ''}`,
    title: { text: scope.layer ? `Topology events · ${scope.layer}` : 'Topology events · all layers' },
    width: 'container',
    height: 160,
    datasets: { [DATASET.events]: rows },
    data: { name: DATASET.events },
    mark: { type: 'bar', size: 4 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'Training step' },
      y: { field: 'signed', type: 'quantitative', title: 'Connections (drop < 0 < grow)', aggregate: 'sum' },
      color: { field: 'op', type: 'nominal', title: 'Operation', scale: { domain: ['drop', 'grow'], range: ['#d62728', '#2ca02c'] } },
      tooltip: [
        { field: 'step', type: 'quantitative', title: 'Step' },
        { field: 'op', type: 'nominal', title: 'Operation' },
        { field: 'count', type: 'quantitative', title: 'Count', aggregate: 'sum' },
      ],
    },
  }
}
