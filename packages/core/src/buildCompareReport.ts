/**
 * The compare report of two to MAX_COMPARED_RUNS runs as data, as buildReport is a run's: the runs and their
 * letters, the side-by-side summary, the layers only some runs have, run-level overlays and differences, per
 * shared layer small multiples, and each run's findings. The export package renders it as one HTML file.
 */
import { HEATMAP_LAYER_THRESHOLD, comparedHistogramRows, type VegaLiteSpec } from './chartSpecs.js'
import { MAX_LAYER_CHARTS, describeAlgorithm, describeStatus } from './buildReport.js'
import { alignedAxis, compareRuns, summaryRows, type RunSummaryColumn, type StepAlignment, type SummaryRow } from './compareRuns.js'
import { RUN_DASHES, comparedDomain, comparedEventsSpec, comparedHistogramSpec, compareLinesSpec, differenceSpec, runLabel, type ComparedEventRow } from './compareSpecs.js'
import { MODEL_CHURN } from './dynamics.js'
import type { Flag, Severity } from './flags.js'
import type { RunSnapshot } from './RunStore.js'
import { decimateSamples, runChurn, runOverview, thinChurn } from './runViews.js'
import type { SampleRecord } from './schema.js'
import { formatCount } from './totals.js'

/** Where a chart sits in the compare report. */
export type CompareGroup = 'sparsity' | 'topology' | 'layers'

export interface CompareChart {
  id: string
  title: string
  group: CompareGroup
  /** One of many per-layer charts, drawn as small multiples side by side. */
  small: boolean
  /** The layer a per-layer chart shows. */
  layer?: string
  spec: VegaLiteSpec
}

/** One compared run as the report's headline and findings show it. */
export interface CompareReportRun {
  /** 'A', 'B', …: how every legend and difference names the run. */
  label: string
  run: string
  name: string
  /** e.g. 'RigL (sparsity=0.9, drop_fraction=0.3, update_freq=50)' */
  algorithm: string
  steps: number
  statusText: string
  /** The run's stroke dash in every overlay (RUN_DASHES): solid, dashed, dotted, dash-dot. */
  dash: readonly number[]
  /** The run's flags, the most severe first, and how many of each severity. */
  flags: Flag[]
  flagCounts: Record<Severity, number>
}

/** Everything a compare report shows, as data; the export package turns it into one HTML file. */
export interface CompareReportModel {
  title: string
  alignment: StepAlignment
  /** How the runs' steps are lined up, in words (and, aligned by step, whether their lengths differ). */
  alignmentText: string
  runs: CompareReportRun[]
  /** The side-by-side summary (summaryRows): a cell per run, `differs` on the rows to highlight. */
  summary: SummaryRow[]
  /** Layers every run has, in the first run's order: the charts compare these. */
  sharedLayers: string[]
  /** Layers only some runs have, for each run that has any: listed, never drawn against nothing. */
  onlyIn: { label: string; run: string; layers: string[] }[]
  charts: CompareChart[]
  /** Why the topology charts are missing, when they are. */
  topologyNote: string | null
  /** Which shared layers have per-layer charts, when not all do. */
  layerChartsNote: string | null
}

export interface CompareReportOptions {
  /** How steps line up: the same step, or the same fraction of each run's training. @default 'step' */
  alignment?: StepAlignment
  /** @default the runs' names joined by ' vs ', or a name they share and what differs: 'digits-mlp-rigl: sparsity 0.9 vs 0.8' */
  title?: string
  /** Samples (and updates) drawn per run at most; the first and last always, evenly spaced between.
   * @default 500, fewer past 40 layers so each run's sparsity holds at most 20,000 points (50 per layer at least) */
  maxChartSamples?: number
}

/** The sample a run held at `x` on the aligned axis: its latest at or before it, else its first. */
function heldSample(samples: readonly SampleRecord[], x: (step: number) => number, at: number): SampleRecord | undefined {
  let held = samples[0]
  for (const s of samples) {
    if (x(s.step) > at) break
    held = s
  }
  return held
}

/** A point of the aligned axis in words: 'step 1,200', or '50% of training'. */
function where(at: number, alignment: StepAlignment): string {
  return alignment === 'step' ? `step ${formatCount(at)}` : `${Number((at * 100).toFixed(1))}% of training`
}

function describeAlignment(alignment: StepAlignment, summary: readonly RunSummaryColumn[]): string {
  const lengths = summary.map((s, i) => `${runLabel(i)} ${formatCount(s.steps)}`).join(', ')
  if (alignment === 'fraction') return `Lined up by the fraction of each run's training (steps: ${lengths}), so every run's start and end meet.`
  const same = summary.every((s) => s.steps === summary[0]!.steps)
  return same
    ? `Lined up by training step; every run ran ${formatCount(summary[0]!.steps)} steps.`
    : `Lined up by training step. The runs differ in length (steps: ${lengths}); past A's end a difference holds A's last value. Lined up by fraction of training, the ends meet.`
}

/**
 * The runs' names joined by ' vs '; where two share a name (runs of one script), the name once and what differs:
 * 'digits-mlp-rigl: sparsity 0.9 vs 0.8, update_freq 50 vs 25'.
 */
function defaultTitle(summary: readonly RunSummaryColumn[], differingParams: readonly string[], algorithmDiffers: boolean): string {
  const names = summary.map((s) => s.name)
  const distinct = [...new Set(names)]
  if (distinct.length === names.length) return names.join(' vs ')
  const cell = (value: unknown) => (value === undefined ? '–' : String(value))
  const differences = [
    ...(algorithmDiffers ? [summary.map((s) => s.algorithm ?? 'none').join(' vs ')] : []),
    ...differingParams.map((key) => `${key} ${summary.map((s) => cell(s.params[key])).join(' vs ')}`),
  ]
  return `${distinct.join(' vs ')}: ${differences.length ? differences.join(', ') : `${summary.length} runs`}`
}

/** Each run's drops and grows of one layer summed per update, at most `points` updates per run. */
function layerEventRows(snapshots: readonly RunSnapshot[], axes: readonly ((step: number) => number)[], layer: string, points: number): ComparedEventRow[] {
  return snapshots.flatMap((snapshot, i) => {
    const sums = new Map<string, ComparedEventRow>()
    for (const e of snapshot.events) {
      if (e.layer !== layer) continue
      const key = `${e.step}:${e.op}`
      const row = sums.get(key) ?? { run: snapshot.run.run, layer, step: e.step, x: axes[i]!(e.step), op: e.op, count: 0, signed: 0 }
      row.count += e.count
      // 0 - count, not -count: a drop of 0 stays +0, as JSON brings it back
      row.signed = e.op === 'drop' ? 0 - row.count : row.count
      sums.set(key, row)
    }
    const rows = [...sums.values()].sort((a, b) => a.step - b.step)
    const kept = new Set(decimateSamples([...new Set(rows.map((r) => r.step))], points))
    return rows.filter((r) => kept.has(r.step))
  })
}

/**
 * Builds the compare report of two to MAX_COMPARED_RUNS runs from their snapshots, the first run the
 * baseline of every difference (B − A). Past HEATMAP_LAYER_THRESHOLD shared layers the overlays draw each
 * run's whole model; the differences stay per layer (a heatmap).
 * @example buildCompareReport([snapshotA, snapshotB], { alignment: 'fraction', title: 'RigL: drop 0.3 vs 0.5' })
 */
export function buildCompareReport(snapshots: readonly RunSnapshot[], options: CompareReportOptions = {}): CompareReportModel {
  const alignment = options.alignment ?? 'step'
  const ids = snapshots.map((s) => s.run.run)
  const twice = ids.find((id, i) => ids.indexOf(id) !== i)
  if (twice !== undefined) throw new Error(`a comparison takes different runs, got ${twice} twice`)
  const names = snapshots.map((s) => s.run.layers.map((l) => l.name))
  const shared = names[0]?.filter((name) => names.every((list) => list.includes(name))) ?? []
  const model = shared.length > HEATMAP_LAYER_THRESHOLD
  const widest = Math.max(1, ...names.map((list) => list.length))
  const points = options.maxChartSamples ?? Math.max(50, Math.min(500, Math.floor(20_000 / widest)))
  // Churn at one granularity for every run (per layer, or the whole model past the threshold), whatever
  // each run's own overview would choose, so the overlay and the difference compare like with like.
  const comparison = compareRuns(
    snapshots.map((s) => ({ overview: { ...runOverview(s, points), churn: thinChurn(runChurn(s.samples, s.events, model), points) }, flags: s.flags })),
    alignment,
  )
  const { summary } = comparison
  const axes = summary.map((s) => alignedAxis(s.steps, alignment))
  const runs = summary.map((s) => ({ run: s.run, name: s.name }))
  const isShared = new Set(shared)
  const churnLayer = (layer: string) => (model ? layer === MODEL_CHURN : isShared.has(layer))
  const drawnChurn = comparison.churn.filter((c) => churnLayer(c.layer))
  const sparsity = comparison.sparsity.filter((p) => isShared.has(p.layer))
  const domain = comparedDomain([...comparison.modelSparsity, ...drawnChurn])
  const scope = { alignment, domain }
  const layers = model ? [MODEL_CHURN] : shared

  const charts: CompareChart[] = []
  const chart = (id: string, title: string, group: CompareGroup, spec: VegaLiteSpec, layer?: string) =>
    charts.push({ id, title, group, small: layer !== undefined, spec, ...(layer === undefined ? {} : { layer }) })
  const later = summary.slice(1).map((s, k) => ({ run: s.run, label: runLabel(k + 1) }))

  // run level: sparsity overlaid, then each later run minus the first
  if (model)
    chart('sparsity', 'Whole-model sparsity', 'sparsity', compareLinesSpec(comparison.modelSparsity, {
      ...scope, title: 'Whole-model sparsity', subtitle: `${formatCount(shared.length)} shared layers: each run's whole model; line style: run`, yTitle: 'Sparsity', format: '.1~%', runs, layers,
    }))
  else
    chart('sparsity', 'Sparsity per layer', 'sparsity', compareLinesSpec(sparsity, {
      ...scope, title: 'Sparsity per layer', subtitle: 'Colour: layer; line style: run', yTitle: 'Sparsity', format: '.1~%', runs, layers,
    }))
  for (const { run, label } of later) {
    const diffs = comparison.sparsityDifference.filter((d) => d.run === run)
    if (diffs.length)
      chart(`sparsity-difference-${label}`, `Sparsity, ${label} − A`, 'sparsity', differenceSpec(diffs, {
        ...scope, title: `Sparsity, ${label} − A`, subtitle: `Above 0: ${label} is sparser than A was at that point`, yTitle: `Sparsity, ${label} − A`, format: '+.1~%', layers: shared,
      }))
  }
  if (drawnChurn.length) {
    chart('churn', 'Topology churn', 'topology', compareLinesSpec(drawnChurn, {
      ...scope,
      title: model ? 'Topology churn, whole model' : 'Topology churn per layer',
      subtitle: `Share of active connections each update rewired; ${model ? 'line style: run' : 'colour: layer; line style: run'}`,
      yTitle: 'Rewired', format: '.1~%', runs, layers, points: true,
    }))
    for (const { run, label } of later) {
      const diffs = comparison.churnDifference.filter((d) => d.run === run && churnLayer(d.layer))
      if (diffs.length)
        chart(`churn-difference-${label}`, `Churn, ${label} − A`, 'topology', differenceSpec(diffs, {
          ...scope, title: `Churn, ${label} − A`, subtitle: `Above 0: ${label}'s update rewired more than A's latest update before it`, yTitle: `Rewired, ${label} − A`, format: '+.1~%', layers,
        }))
    }
  }

  // per shared layer: its sparsity, its weights at the first and the last step every run reached, its updates
  const firstX = Math.max(...snapshots.map((s, i) => (s.samples.length ? axes[i]!(s.samples[0]!.step) : -Infinity)))
  const lastX = Math.min(...snapshots.map((s, i) => (s.samples.length ? axes[i]!(s.samples.at(-1)!.step) : Infinity)))
  const atFirst = snapshots.map((s, i) => heldSample(s.samples, axes[i]!, firstX))
  const atLast = snapshots.map((s, i) => heldSample(s.samples, axes[i]!, lastX))
  const numel = new Map(snapshots[0]?.run.layers.map((l) => [l.name, l.numel]))
  const largest = new Set([...shared].sort((a, b) => (numel.get(b) ?? 0) - (numel.get(a) ?? 0)).slice(0, MAX_LAYER_CHARTS))
  const charted = shared.filter((name) => largest.has(name))
  // every run's histogram of the layer at one point, on shared bin edges; none when no run has a sample there
  const histogram = (id: string, layer: string, held: readonly (SampleRecord | undefined)[], at: number) => {
    const histograms = held.flatMap((sample, i) => {
      const found = sample?.layers.find((l) => l.name === layer)
      return found ? [{ hist: found.hist, series: `${runLabel(i)} · step ${formatCount(sample!.step)}` }] : []
    })
    if (histograms.length)
      chart(id, layer, 'layers', comparedHistogramSpec(comparedHistogramRows(histograms), { title: `Weights at ${where(at, alignment)}`, series: histograms.map((h) => h.series), small: true }), layer)
  }
  charted.forEach((layer, index) => {
    const n = index + 1
    const own = sparsity.filter((p) => p.layer === layer)
    if (own.length)
      chart(`sparsity-${n}`, layer, 'layers', compareLinesSpec(own, {
        ...scope, title: 'Sparsity', yTitle: 'Sparsity', format: '.1~%', runs, layers: shared, small: true, legend: false,
      }), layer)
    if (atFirst.some((sample, i) => sample !== atLast[i])) histogram(`histogram-first-${n}`, layer, atFirst, firstX)
    histogram(`histogram-last-${n}`, layer, atLast, lastX)
    const events = layerEventRows(snapshots, axes, layer, points)
    if (events.length) chart(`events-${n}`, layer, 'layers', comparedEventsSpec(events, { ...scope, title: 'Grown and dropped', runs, small: true }), layer)
  })

  return {
    title: options.title ?? defaultTitle(summary, comparison.differingParams, comparison.algorithmDiffers),
    alignment,
    alignmentText: describeAlignment(alignment, summary),
    runs: snapshots.map((s, i) => ({
      label: runLabel(i),
      run: s.run.run,
      name: s.run.name,
      algorithm: describeAlgorithm(s),
      steps: summary[i]!.steps,
      statusText: describeStatus(s, summary[i]!.steps),
      dash: RUN_DASHES[i]!,
      flags: s.flags,
      flagCounts: summary[i]!.flags,
    })),
    summary: summaryRows(comparison),
    sharedLayers: shared,
    onlyIn: comparison.onlyIn.flatMap((o, i) => (o.layers.length ? [{ label: runLabel(i), ...o }] : [])),
    charts,
    topologyNote: drawnChurn.length ? null : 'No run recorded a topology update (a drop or a grow), so there is no churn to compare.',
    layerChartsNote:
      charted.length < shared.length
        ? `Per-layer charts for the ${MAX_LAYER_CHARTS} largest of the ${formatCount(shared.length)} shared layers.`
        : null,
  }
}
