/**
 * Comparison of runs (A/B of sparse algorithms and hyperparameters): which layers they share, a side-by-side
 * summary, and per-layer differences on one step axis. One pure function over run overviews, used by the
 * dashboard's compare view and the compare report alike.
 */
import { MODEL_CHURN } from './dynamics.js'
import { lastAtOrBefore } from './lastAtOrBefore.js'
import type { Flag, Severity } from './flags.js'
import { intervalAt, rollingOverhead } from './profilerCost.js'
import type { RunOverview } from './runViews.js'
import type { AlgorithmInfo } from './schema.js'
import { deriveTotals, describeSaving, formatCount, formatPercent } from './totals.js'

/** Runs one comparison holds: each run gets its own dash style, and more stop being readable. */
export const MAX_COMPARED_RUNS = 4

/** How steps line up: the same step, or the same fraction of each run's training (runs of different length). */
export type StepAlignment = 'step' | 'fraction'

/** The share of each run's steps its late-training churn is taken over (the last quarter). */
export const LATE_SHARE = 0.25

/** One run as a comparison takes it: its overview and its flags. */
export interface ComparedRun {
  overview: RunOverview
  flags: readonly Flag[]
}

/** One run's column of the summary. */
export interface RunSummaryColumn {
  run: string
  name: string
  algorithm: string | null
  params: AlgorithmInfo['params']
  /** Steps: the end record's, else the latest sample's. */
  steps: number
  /** Seconds from the run's start to its end record (or latest sample). */
  wallSeconds: number
  /** Model sparsity, active weights, and memory against dense at the latest sample. */
  sparsity: number | null
  nnz: number | null
  bytes: number | null
  denseBytes: number | null
  savedBytes: number | null
  /** Connections rewired (the larger of drops and grows per update, summed) over the latest nnz. */
  churnTotal: number | null
  /** The mean per update of the same over the last quarter of the run's steps; null without updates there. */
  churnLate: number | null
  updates: number
  flags: Record<Severity, number>
  /** The profiler's share of training time over its last samples (see rollingOverhead). */
  overhead: number | null
  /** The loss passed to step() at the latest sample that had one. */
  finalLoss: number | null
}

export interface RunComparison {
  /** One summary column per run, in the order given. */
  summary: RunSummaryColumn[]
  /** Parameter names whose values differ between the runs (or that some run lacks), and whether the algorithms do. */
  differingParams: string[]
  algorithmDiffers: boolean
  /** Layers every run has, in the first run's order, and per run the layers only some runs have. */
  sharedLayers: string[]
  onlyIn: { run: string; layers: string[] }[]
  /** Per-layer sparsity of every run on the aligned axis `x` (step, or fraction of training). */
  sparsity: ComparedPoint[]
  /** Each run's whole-model sparsity (layer MODEL_CHURN) at the same points: what a chart of many layers draws. */
  modelSparsity: ComparedPoint[]
  /** Each run's churn rows (per layer, or past HEATMAP_LAYER_THRESHOLD layers the whole model's) on the same axis. */
  churn: ComparedPoint[]
  /** Later runs minus the first: per shared layer at each of the later run's points, the first run's value held from its last point at or before x. */
  sparsityDifference: DifferencePoint[]
  churnDifference: DifferencePoint[]
}

export interface ComparedPoint {
  run: string
  layer: string
  step: number
  x: number
  value: number
}

export interface DifferencePoint {
  /** The later run the difference is of (its value minus the first run's). */
  run: string
  layer: string
  x: number
  delta: number
}

export interface CompareRunsOptions {
  /**
   * The layers whose per-layer sparsity points and differences are computed: a page of a thousand layers draws
   * the model's lines and a matrix (sparsityDifferenceMatrix), and asks here only for the layer it inspects.
   * @default every layer
   */
  layers?: readonly string[]
}

/**
 * Compares two to MAX_COMPARED_RUNS runs: summary columns, the parameters that differ, layers matched by
 * name, and per-layer sparsity and churn differences against the first run on one axis.
 * @example compareRuns([{ overview: a, flags: fa }, { overview: b, flags: fb }]).differingParams // ['drop_fraction']
 */
export function compareRuns(runs: readonly ComparedRun[], alignment: StepAlignment = 'step', options: CompareRunsOptions = {}): RunComparison {
  if (runs.length < 2 || runs.length > MAX_COMPARED_RUNS)
    throw new Error(`a comparison takes 2 to ${MAX_COMPARED_RUNS} runs, got ${runs.length}`)
  const summary = runs.map(summarize)
  const names = runs.map((r) => r.overview.run.layers.map((l) => l.name))
  const sharedLayers = names[0]!.filter((name) => names.every((list) => list.includes(name)))
  const shared = new Set(sharedLayers)
  const axes = summary.map((s) => alignedAxis(s.steps, alignment))
  const only = options.layers && new Set(options.layers)
  const sparsity = runs.flatMap((r, i) => sparsityPoints(r.overview, axes[i]!, only))
  const churn = runs.flatMap((r, i) => r.overview.churn.map((c) => ({ run: r.overview.run.run, layer: c.layer, step: c.step, x: axes[i]!(c.step), value: c.churn })))
  const first = runs[0]!.overview.run.run
  return {
    summary,
    ...differences(summary.map((s) => s.algorithm), summary.map((s) => s.params)),
    sharedLayers,
    onlyIn: runs.map((r, i) => ({ run: r.overview.run.run, layers: names[i]!.filter((name) => !shared.has(name)) })),
    sparsity,
    modelSparsity: runs.flatMap((r, i) => modelSparsityPoints(r.overview, axes[i]!)),
    churn,
    sparsityDifference: differenceOf(sparsity, first, shared),
    churnDifference: differenceOf(churn, first, null),
  }
}

function summarize({ overview, flags }: ComparedRun): RunSummaryColumn {
  const { run, latest, end } = overview
  const totals = latest ? deriveTotals(latest) : null
  const steps = end?.step ?? latest?.step ?? 0
  const perStep = new Map<number, { drops: number; grows: number }>()
  for (const e of overview.events) {
    const update = perStep.get(e.step) ?? { drops: 0, grows: 0 }
    update[e.op === 'drop' ? 'drops' : 'grows'] += e.count
    perStep.set(e.step, update)
  }
  const rewired = [...perStep].map(([step, u]) => ({ step, count: Math.max(u.drops, u.grows) }))
  const nnz = totals?.nnz ?? 0
  const late = rewired.filter((u) => u.step > steps * (1 - LATE_SHARE))
  const counts: Record<Severity, number> = { info: 0, warning: 0, critical: 0 }
  for (const flag of flags) counts[flag.severity]++
  return {
    run: run.run,
    name: run.name,
    algorithm: run.algorithm?.name ?? null,
    params: run.algorithm?.params ?? {},
    steps,
    wallSeconds: Math.max(0, (end?.time ?? latest?.time ?? run.started) - run.started),
    sparsity: totals?.sparsity ?? null,
    nnz: totals?.nnz ?? null,
    bytes: totals?.bytes ?? null,
    denseBytes: totals?.denseBytes ?? null,
    savedBytes: totals?.savedBytes ?? null,
    churnTotal: nnz > 0 ? rewired.reduce((sum, u) => sum + u.count, 0) / nnz : null,
    churnLate: nnz > 0 && late.length ? late.reduce((sum, u) => sum + u.count, 0) / late.length / nnz : null,
    updates: rewired.length,
    flags: counts,
    overhead: rollingOverhead(overview.costs, (step) => intervalAt(step, run.sampler, overview.sampler)),
    finalLoss: lastLoss(overview),
  }
}

function lastLoss(overview: RunOverview): number | null {
  const latest = overview.latest?.scalars?.loss
  if (typeof latest === 'number') return latest
  const rows = overview.scalars.filter((r) => r.name === 'loss' && r.value !== null)
  return rows.at(-1)?.value ?? null
}

function differences(algorithms: (string | null)[], params: AlgorithmInfo['params'][]): { differingParams: string[]; algorithmDiffers: boolean } {
  const keys = [...new Set(params.flatMap((p) => Object.keys(p)))]
  const same = (values: unknown[]) => values.every((v) => Object.is(v, values[0]))
  return {
    differingParams: keys.filter((key) => !params.every((p) => key in p) || !same(params.map((p) => p[key]))),
    algorithmDiffers: !same(algorithms),
  }
}

/**
 * A run's step on the comparison's x axis: the step itself, or its fraction of the run's `steps`.
 * @example alignedAxis(400, 'fraction')(100) // 0.25
 */
export function alignedAxis(steps: number, alignment: StepAlignment): (step: number) => number {
  return alignment === 'step' || steps === 0 ? (step) => step : (step) => step / steps
}

function sparsityPoints(overview: RunOverview, x: (step: number) => number, only?: ReadonlySet<string> | undefined): ComparedPoint[] {
  const layers = overview.run.layers
  const columns = layers.flatMap((l, j) => (only && !only.has(l.name) ? [] : [j]))
  const points: ComparedPoint[] = []
  overview.steps.forEach((step, i) => {
    const row = overview.sparsity[i]!
    for (const j of columns) {
      const value = row[j]
      if (value !== null && value !== undefined) points.push({ run: overview.run.run, layer: layers[j]!.name, step, x: x(step), value })
    }
  })
  return points
}

function modelSparsityPoints(overview: RunOverview, x: (step: number) => number): ComparedPoint[] {
  const numel = overview.run.layers.map((l) => l.numel)
  return overview.steps.flatMap((step, i) => {
    let active = 0
    let total = 0
    overview.sparsity[i]!.forEach((value, j) => {
      if (value === null) return
      active += (1 - value) * numel[j]!
      total += numel[j]!
    })
    return total > 0 ? [{ run: overview.run.run, layer: MODEL_CHURN, step, x: x(step), value: 1 - active / total }] : []
  })
}

/** Each later run's points minus the first run's value held from its last point at or before the same x. */
function differenceOf(points: readonly ComparedPoint[], first: string, layers: ReadonlySet<string> | null): DifferencePoint[] {
  const base = new Map<string, ComparedPoint[]>()
  for (const p of points) {
    if (p.run !== first) continue
    const series = base.get(p.layer)
    if (series) series.push(p)
    else base.set(p.layer, [p])
  }
  for (const series of base.values()) series.sort((a, b) => a.x - b.x)
  const out: DifferencePoint[] = []
  for (const p of points) {
    if (p.run === first || (layers && !layers.has(p.layer))) continue
    const series = base.get(p.layer)
    const held = series && heldAt(series, p.x)
    if (held) out.push({ run: p.run, layer: p.layer, x: p.x, delta: p.value - held.value })
  }
  return out
}

function heldAt(series: readonly ComparedPoint[], x: number): ComparedPoint | undefined {
  return series[lastAtOrBefore(series, x, (point) => point.x)]
}

/** A later run's per-layer sparsity minus the first run's, as a matrix: what a heatmap of many layers paints. */
export interface DifferenceMatrix {
  /** The later run. */
  run: string
  /** The shared layers, in the first run's order: `delta[i][j]` is layer j. */
  layers: string[]
  /** The later run's matrix steps and their aligned x. */
  steps: number[]
  x: number[]
  /** Its sparsity minus the first run's value held from its last step at or before the same x (as in sparsityDifference); null where either has none. */
  delta: (number | null)[][]
}

/**
 * The sparsity differences of compareRuns as one matrix per later run, over the overviews' matrices directly
 * (a thousand layers need no point objects): cell for cell the same numbers as `sparsityDifference`.
 * @example sparsityDifferenceMatrix([a, b], 'fraction')[0].delta.at(-1) // B − A of every shared layer at B's last sample
 */
export function sparsityDifferenceMatrix(overviews: readonly RunOverview[], alignment: StepAlignment = 'step'): DifferenceMatrix[] {
  const [first, ...later] = overviews
  if (!first) return []
  const steps = (o: RunOverview) => o.end?.step ?? o.latest?.step ?? 0
  const columns = (o: RunOverview) => new Map(o.run.layers.map((l, j) => [l.name, j]))
  const all = overviews.map(columns)
  const layers = first.run.layers.map((l) => l.name).filter((name) => all.every((c) => c.has(name)))
  const firstX = first.steps.map(alignedAxis(steps(first), alignment))
  return later.map((overview, k) => {
    const pairs = layers.map((name) => [all[0]!.get(name)!, all[k + 1]!.get(name)!] as const)
    const x = overview.steps.map(alignedAxis(steps(overview), alignment))
    const delta = x.map((at, i) => {
      const held = lastAtOrBefore(firstX, at, (x) => x)
      const row = overview.sparsity[i]!
      return pairs.map(([a, b]) => {
        const value = row[b]
        if (value === null || value === undefined) return null
        // the first run's last value of this layer at or before x (a sample may lack the layer)
        for (let h = held; h >= 0; h--) {
          const was = first.sparsity[h]![a]
          if (was !== null && was !== undefined) return value - was
        }
        return null
      })
    })
    return { run: overview.run.run, layers, steps: overview.steps.slice(), x, delta }
  })
}


/** One labelled row of the side-by-side summary, one formatted cell per run; `differs` marks it for highlighting. */
export interface SummaryRow {
  label: string
  cells: string[]
  differs: boolean
}

/**
 * The summary as people read it (the dashboard, the compare report and the CLI show these rows): the
 * algorithm and every parameter (those that differ marked), then the outcome, each with units.
 * @example summaryRows(compareRuns(runs)).find((r) => r.label === 'drop_fraction') // { cells: ['0.3', '0.5'], differs: true }
 */
export function summaryRows({ summary, differingParams, algorithmDiffers }: Pick<RunComparison, 'summary' | 'differingParams' | 'algorithmDiffers'>): SummaryRow[] {
  const row = (label: string, cell: (s: RunSummaryColumn) => string, differs = false): SummaryRow => ({ label, cells: summary.map(cell), differs })
  const or = <T>(value: T | null, format: (v: T) => string) => (value === null ? '–' : format(value))
  const params = [...new Set(summary.flatMap((s) => Object.keys(s.params)))]
  const differing = new Set(differingParams)
  return [
    row('Run', (s) => `${s.name} (${s.run})`),
    row('Algorithm', (s) => s.algorithm ?? 'none', algorithmDiffers),
    ...params.map((key) => row(key, (s) => (key in s.params ? String(s.params[key]) : '–'), differing.has(key))),
    row('Steps', (s) => formatCount(s.steps)),
    row('Wall time', (s) => formatDuration(s.wallSeconds)),
    row('Sparsity', (s) => or(s.sparsity, formatPercent)),
    row('Active weights', (s) => or(s.nnz, formatCount)),
    row('Memory vs dense', (s) => (s.savedBytes === null || s.denseBytes === null ? '–' : describeSaving(s.savedBytes, s.denseBytes))),
    row('Churn, whole run', (s) => or(s.churnTotal, (v) => `${formatPercent(v)} rewired in ${formatCount(s.updates)} update${s.updates === 1 ? '' : 's'}`)),
    row('Churn, last quarter', (s) => or(s.churnLate, (v) => `${formatPercent(v)} per update`)),
    row('Flags', (s) => `${s.flags.critical} critical, ${s.flags.warning} warning, ${s.flags.info} info`),
    row('Profiler cost', (s) => or(s.overhead, (v) => `${formatPercent(v)} of training time`)),
    row('Final loss', (s) => or(s.finalLoss, (v) => String(Number(v.toPrecision(4))))),
  ]
}

/** Seconds as people read a duration: `42.0 s`, `12 min 5 s`, `3 h 20 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}
