import { algorithmTarget } from './algorithmTarget.js'
import {
  bandsSpec,
  churnSpec,
  comparedHistogramRows,
  eventRows,
  eventsPerStep,
  eventsSpec,
  flagMarkRows,
  heatmapRows,
  histogramSpec,
  HEATMAP_LAYER_THRESHOLD,
  itopSpec,
  layerPoints,
  maskDistanceSpec,
  metricRows,
  metricSpec,
  regrowthSpec,
  scalarRows,
  scalarSpec,
  sparsityRows,
  sparsitySpec,
  stepDomainOf,
  type VegaLiteSpec,
} from './chartSpecs.js'
import { MODEL_CHURN, bandRows, churnRows, layerExplorationRows, nnzBefore, regrowthRows } from './dynamics.js'
import type { Flag } from './flags.js'
import { describeSampling } from './profilerCost.js'
import type { RunSnapshot, RunStatus } from './RunStore.js'
import type { LayerRecord, MaskSource, StorageFormat } from './schema.js'
import { decimateSamples, modelChurn, runChurn, runExploration } from './runViews.js'
import { deriveTotals, formatCount, type ModelTotals } from './totals.js'

/** The parts of a report a user can choose, as in the export dialog. */
export const REPORT_SECTIONS = ['sparsity', 'weights', 'memory', 'events', 'csv', 'latency'] as const
export type ReportSection = (typeof REPORT_SECTIONS)[number]

/** Every section but the profiler's latency stats, as the export dialog preselects. */
export const DEFAULT_SECTIONS: readonly ReportSection[] = ['sparsity', 'weights', 'memory', 'events', 'csv']

/** Where a chart sits in the report. */
export type ReportGroup = 'training' | 'topology' | 'exploration' | 'layers'

export interface ReportChart {
  id: string
  title: string
  group: ReportGroup
  /** One of many per-layer charts, drawn as small multiples side by side. */
  small: boolean
  /** The layer a per-layer chart shows. */
  layer?: string
  spec: VegaLiteSpec
}

/** Most layers the report draws per-layer charts for; the largest are chosen, the table lists every layer. */
export const MAX_LAYER_CHARTS = 48

/** One row of the per-layer summary table, at the last sample. */
export interface LayerSummary {
  layer: string
  /** Other module paths sharing this layer's weight storage (tied weights), as the latest description lists them. */
  aliases: string[]
  sparsity: number
  nnz: number
  numel: number
  bytes: number
  denseBytes: number
  drops: number
  grows: number
}

/** One storage change of a layer (a layer record), as the report and the dashboard list it. */
export interface StorageChange {
  step: number
  layer: string
  reason: string
  /** The layer's new description; all null when it is no longer profiled (it left the model). */
  format: StorageFormat | null
  maskSource: MaskSource | null
  dtype: string | null
  /** null also when the profiler that recorded it did not say. */
  device: string | null
}

export interface LatencyStats {
  samples: number
  p50: number
  p95: number
  max: number
}

/** Everything a report shows, as data; the export package turns it into one HTML file. */
export interface ReportModel {
  title: string
  runId: string
  runName: string
  host: string
  profiler: string
  /** Run start and last record, as ISO-8601 UTC. */
  started: string
  lastRecord: string
  /** e.g. '3 layers, 84,480 weights (padded_csr 2, dense 1)' */
  model: string
  algorithm: string
  lastStep: number
  status: RunStatus
  /** The status in words; a run still training when exported says so, never "live". */
  statusText: string
  /** The sampling interval in force and when and why it last changed. */
  sampling: string
  /** Which layers have per-layer charts, when not all do. */
  layerChartsNote: string | null
  /** What the records show is wrong, the most severe first. */
  flags: Flag[]
  /** How many samples the report draws from, and how the older ones were thinned if they were. */
  samples: string
  totals: ModelTotals | null
  charts: ReportChart[]
  /** Every storage change the snapshot holds, oldest first; empty when the layers never changed. */
  storageChanges: StorageChange[]
  /** Per-layer summary (memory section); null when the section is off. */
  layers: LayerSummary[] | null
  /** Every sample of every layer as CSV; null when the section is off. */
  csv: string | null
  /** The profiler's own cost per sample in milliseconds; null when the section is off. */
  latency: LatencyStats | null
}

export interface BuildReportOptions {
  /** @default the run's display name */
  title?: string
  /** @default DEFAULT_SECTIONS */
  sections?: readonly ReportSection[]
  /** Layers to draw per-layer charts for. @default every profiled layer, or the MAX_LAYER_CHARTS largest */
  histogramLayers?: string[]
  /** Samples drawn per layer at most; the first and last always, evenly spaced between. The CSV keeps all.
   * @default 500, fewer past 40 layers so the sparsity chart holds at most 20,000 points (50 per layer at least) */
  maxChartSamples?: number
}

/**
 * A run's algorithm and its parameters in words.
 * @example describeAlgorithm(snapshot) // 'RigL (sparsity=0.9, drop_fraction=0.3, update_freq=50)'
 */
export function describeAlgorithm(snapshot: Pick<RunSnapshot, 'run'>): string {
  const algo = snapshot.run.algorithm
  if (!algo) return 'none (static weights)'
  const params = Object.entries(algo.params).map(([k, v]) => `${k}=${v}`)
  return params.length ? `${algo.name} (${params.join(', ')})` : algo.name
}

function describeModel(snapshot: RunSnapshot): string {
  const untracked = new Set(snapshot.untracked)
  const layers = snapshot.run.layers.filter((l) => !untracked.has(l.name))
  const weights = layers.reduce((n, l) => n + l.numel, 0)
  const formats = new Map<string, number>()
  for (const l of layers) formats.set(l.format, (formats.get(l.format) ?? 0) + 1)
  const byFormat = [...formats].map(([format, n]) => `${format} ${n}`).join(', ')
  const gone = untracked.size ? `; ${untracked.size} no longer profiled` : ''
  return `${layers.length} profiled layers, ${formatCount(weights)} weights (${byFormat})${gone}`
}

/**
 * Layer records as rows of a list.
 * @example storageChanges(snapshot.layerChanges)[0] // { step: 300, layer: 'fc1', reason: 'mask removed (…)', format: 'dense', … }
 */
export function storageChanges(changes: readonly LayerRecord[]): StorageChange[] {
  return changes.map(({ step, layer, reason, info }) => ({
    step,
    layer,
    reason,
    format: info?.format ?? null,
    maskSource: info?.mask_source ?? null,
    dtype: info?.dtype ?? null,
    device: info?.device ?? null,
  }))
}

const CSV_HEADER = 'step,layer,nnz,numel,sparsity,bytes,dense_bytes,nonfinite'

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** Every layer of every sample, one line each. */
export function samplesCsv(snapshot: RunSnapshot): string {
  const lines = [CSV_HEADER]
  for (const s of snapshot.samples)
    for (const l of s.layers)
      lines.push([s.step, csvField(l.name), l.nnz, l.numel, l.sparsity, l.bytes, l.dense_bytes, l.nonfinite].join(','))
  return `${lines.join('\n')}\n`
}

function describeSamples(snapshot: RunSnapshot): string {
  const held = `${formatCount(snapshot.samples.length)} samples`
  const { thinning } = snapshot
  return thinning ? `${held}; before step ${thinning.fullFrom}, one in ${thinning.keepsOneIn} (thinned to fit memory)` : `${held}, every one taken`
}

/**
 * A run's status at its last step in words; a run still training says so, never "live".
 * @example describeStatus(snapshot, 3000) // 'finished at step 3,000'
 */
export function describeStatus(snapshot: Pick<RunSnapshot, 'status'>, lastStep: number): string {
  const at = `at step ${formatCount(lastStep)}`
  if (snapshot.status === 'live') return `still training when exported (${at})`
  if (snapshot.status === 'finished') return `finished ${at}`
  return `${snapshot.status} ${at}`
}

/** The layers given per-layer charts: those asked for, else all, or the largest MAX_LAYER_CHARTS in model order. */
function chartedLayers(snapshot: RunSnapshot, wanted: string[] | undefined): { names: Set<string>; note: string | null } {
  const layers = snapshot.samples.at(-1)?.layers ?? []
  if (wanted) return { names: new Set(wanted), note: null }
  if (layers.length <= MAX_LAYER_CHARTS) return { names: new Set(layers.map((l) => l.name)), note: null }
  const largest = [...layers].sort((a, b) => b.numel - a.numel).slice(0, MAX_LAYER_CHARTS)
  return {
    names: new Set(largest.map((l) => l.name)),
    note: `Per-layer charts for the ${MAX_LAYER_CHARTS} largest of ${formatCount(layers.length)} layers; the table lists every layer.`,
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
}

function layerSummaries(snapshot: RunSnapshot): LayerSummary[] {
  const last = snapshot.samples.at(-1)
  const counts = new Map<string, { drops: number; grows: number }>()
  for (const e of snapshot.events) {
    const c = counts.get(e.layer) ?? { drops: 0, grows: 0 }
    if (e.op === 'drop') c.drops += e.count
    else c.grows += e.count
    counts.set(e.layer, c)
  }
  const aliases = new Map(snapshot.run.layers.map((l) => [l.name, l.aliases ?? []]))
  return (last?.layers ?? []).map((l) => ({
    layer: l.name,
    aliases: aliases.get(l.name) ?? [],
    sparsity: l.sparsity,
    nnz: l.nnz,
    numel: l.numel,
    bytes: l.bytes,
    denseBytes: l.dense_bytes,
    drops: counts.get(l.name)?.drops ?? 0,
    grows: counts.get(l.name)?.grows ?? 0,
  }))
}

/**
 * Builds the report of a run from the same chart specs the live dashboard renders.
 * @example buildReport(store.snapshot('run-1')!, { title: 'Digits RigL', sections: ['sparsity', 'csv'] })
 */
export function buildReport(snapshot: RunSnapshot, options: BuildReportOptions = {}): ReportModel {
  const sections = new Set(options.sections ?? DEFAULT_SECTIONS)
  const first = snapshot.samples[0]
  const last = snapshot.samples.at(-1)
  const layerNames = snapshot.run.layers.map((l) => l.name)
  const domain = stepDomainOf(snapshot.samples)
  const charts: ReportChart[] = []
  const chart = (id: string, title: string, group: ReportGroup, spec: VegaLiteSpec, layer?: string) =>
    charts.push({ id, title, group, small: layer !== undefined, spec, ...(layer === undefined ? {} : { layer }) })
  const perLayer = Math.max(50, Math.min(500, Math.floor(20_000 / Math.max(1, layerNames.length))))
  const drawnAt = decimateSamples(snapshot.samples.map((_, i) => i), options.maxChartSamples ?? perLayer)
  const drawn = drawnAt.map((i) => snapshot.samples[i]!)
  const charted = chartedLayers(snapshot, options.histogramLayers)
  if (sections.has('sparsity')) {
    const scalars = scalarRows(drawn)
    for (const name of new Set(scalars.map((r) => r.name))) chart(`scalar-${name}`, name, 'training', scalarSpec(scalars, { name, domain }))
    const heatmap = layerNames.length > HEATMAP_LAYER_THRESHOLD
    const rows = heatmap ? heatmapRows(drawn) : sparsityRows(drawn)
    chart('sparsity', 'Per-layer sparsity', 'training', sparsitySpec(rows, eventsPerStep(snapshot.events), { layers: layerNames, domain, target: algorithmTarget(snapshot.run.algorithm), flags: flagMarkRows(snapshot.flags) }))
  }
  // user-defined metrics: one chart of every layer's line, or past the threshold, one small multiple per layer below
  const metrics = metricRows(layerPoints(drawn))
  const metricNames = [...new Set(metrics.map((r) => r.name))]
  if (sections.has('sparsity') && layerNames.length <= HEATMAP_LAYER_THRESHOLD)
    for (const name of metricNames) chart(`metric-${name}`, name, 'training', metricSpec(metrics, { name, domain }))
  if (sections.has('events') && snapshot.events.length) {
    const model = modelChurn(first)
    const churn = runChurn(snapshot.samples, snapshot.events, model)
    chart('churn', 'Topology churn', 'topology', churnSpec(churn, { domain, ...(model ? { layer: MODEL_CHURN } : {}) }))
    chart('events', 'Topology updates', 'topology', eventsSpec(eventsPerStep(snapshot.events), { domain }))
  }
  if (sections.has('events')) {
    // each drawn sample's mask distance is over the sample held before it, drawn or not
    const model = modelChurn(first)
    const exploration = runExploration(snapshot.samples, drawnAt, model)
    const scope = { domain, ...(model ? { layer: MODEL_CHURN } : {}) }
    if (exploration.some((r) => r.itop !== null)) chart('itop', 'In-time over-parameterization', 'exploration', itopSpec(exploration, scope))
    if (exploration.some((r) => r.maskDistance !== null)) chart('mask-distance', 'Mask distance between samples', 'exploration', maskDistanceSpec(exploration, scope))
  }
  if (last && (sections.has('weights') || sections.has('events'))) {
    last.layers.forEach((layer, index) => {
      if (!charted.names.has(layer.name)) return
      const points = snapshot.samples.flatMap((s) => s.layers.filter((l) => l.name === layer.name).map((l) => ({ ...l, step: s.step, layer: l.name })))
      if (sections.has('weights')) {
        const initial = first?.layers.find((l) => l.name === layer.name)
        const rows = comparedHistogramRows([
          ...(initial && first !== last ? [{ hist: initial.hist, series: `step ${first!.step}` }] : []),
          { hist: layer.hist, series: `step ${last.step}` },
        ])
        chart(`histogram-${index + 1}`, layer.name, 'layers', histogramSpec(rows, { layer: layer.name, small: true }), layer.name)
        chart(`bands-${index + 1}`, layer.name, 'layers', bandsSpec(bandRows(decimateSamples(points, perLayer)), { layer: layer.name, domain, small: true }), layer.name)
      }
      if (layerNames.length > HEATMAP_LAYER_THRESHOLD)
        for (const name of metricNames)
          chart(`metric-${name}-${index + 1}`, layer.name, 'layers', metricSpec(metrics.filter((r) => r.layer === layer.name), { name, domain, layer: layer.name }), layer.name)
      const own = snapshot.events.filter((e) => e.layer === layer.name)
      if (sections.has('events') && own.length) {
        chart(`churn-${index + 1}`, layer.name, 'layers', churnSpec(churnRows(own, nnzBefore(points)), { layer: layer.name, domain, small: true }), layer.name)
        chart(`events-${index + 1}`, layer.name, 'layers', eventsSpec(eventRows(own), { layer: layer.name, domain, small: true }), layer.name)
      }
      if (sections.has('events')) {
        const explored = decimateSamples(layerExplorationRows(points), perLayer)
        const scope = { layer: layer.name, domain, small: true }
        if (explored.some((r) => r.itop !== null)) chart(`itop-${index + 1}`, layer.name, 'layers', itopSpec(explored, scope), layer.name)
        if (explored.some((r) => r.maskDistance !== null)) chart(`mask-distance-${index + 1}`, layer.name, 'layers', maskDistanceSpec(explored, scope), layer.name)
        const regrowth = regrowthRows(own)
        if (regrowth.length) chart(`regrowth-${index + 1}`, layer.name, 'layers', regrowthSpec(regrowth, scope), layer.name)
      }
    })
  }
  const costs = snapshot.samples.map((s) => s.cost_ms).sort((a, b) => a - b)
  const lastTime = Math.max(snapshot.end?.time ?? 0, last?.time ?? 0, snapshot.run.started)
  const lastStep = snapshot.end?.step ?? last?.step ?? 0
  return {
    title: options.title ?? snapshot.run.name,
    runId: snapshot.run.run,
    runName: snapshot.run.name,
    host: snapshot.run.host,
    profiler: snapshot.run.profiler,
    started: new Date(snapshot.run.started * 1000).toISOString(),
    lastRecord: new Date(lastTime * 1000).toISOString(),
    model: describeModel(snapshot),
    algorithm: describeAlgorithm(snapshot),
    lastStep,
    status: snapshot.status,
    statusText: describeStatus(snapshot, lastStep),
    sampling: describeSampling(snapshot.run.sampler, snapshot.sampler),
    layerChartsNote: charted.note,
    flags: snapshot.flags,
    samples: describeSamples(snapshot),
    totals: last ? deriveTotals(last) : null,
    charts,
    storageChanges: storageChanges(snapshot.layerChanges),
    layers: sections.has('memory') ? layerSummaries(snapshot) : null,
    csv: sections.has('csv') ? samplesCsv(snapshot) : null,
    latency: sections.has('latency') ? { samples: costs.length, p50: percentile(costs, 50), p95: percentile(costs, 95), max: costs.at(-1) ?? 0 } : null,
  }
}
