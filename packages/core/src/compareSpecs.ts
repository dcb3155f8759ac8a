/**
 * Vega-Lite specs of a comparison (compareRuns): runs overlaid with one colour per layer and one dash style
 * per run, and the later runs' differences from the first. Their x axis is the comparison's aligned axis:
 * the training step, or the fraction of each run's training; its range is the STEP_DOMAIN params, as on
 * every step-axis chart, so one zoom serves a page.
 */
import { HEATMAP_LAYER_THRESHOLD, stepAxis, stepParams, type HistogramRow, type StepDomain, type VegaLiteSpec } from './chartSpecs.js'
import type { ComparedPoint, DifferencePoint, StepAlignment } from './compareRuns.js'
import type { TopologyOp } from './schema.js'

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'

/** Dash patterns of the compared runs, in order: solid, dashed, dotted, dash-dot (MAX_COMPARED_RUNS of them). */
export const RUN_DASHES: readonly number[][] = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]

/**
 * The legend of the runs' dashes: line symbols long enough to show a dash, in a grey that reads on light and dark
 * pages (a line drawn with points would otherwise show a filled dot in the theme's ink).
 */
const RUN_LEGEND = { orient: 'top', symbolType: 'stroke', symbolStrokeColor: '#999999', symbolFillColor: 'transparent', symbolStrokeWidth: 2, symbolSize: 400, labelLimit: 260 }

/** The dash encoding of runs labelled `labels` (their dashes from RUN_DASHES[first] on), with the runs' legend or none. */
function runDash(labels: readonly string[], legend: boolean, first = 0) {
  return {
    field: 'runLabel',
    type: 'nominal',
    title: 'Run',
    sort: [...labels],
    scale: { domain: [...labels], range: RUN_DASHES.slice(first, first + labels.length) },
    // past two runs, one run a row: four in one row overrun a half-width chart
    legend: legend ? (labels.length > 2 ? { ...RUN_LEGEND, columns: 1 } : RUN_LEGEND) : null,
  }
}

/** Names of the compare charts' datasets. */
export const COMPARE_DATASET = { points: 'compared', differences: 'differences', histogram: 'compared_histogram', events: 'compared_events' } as const

/** A compared run's letter, as legends and the compare report name it: A, B, C, D. */
export const runLabel = (index: number) => String.fromCharCode(65 + index)

interface AxisScope {
  alignment: StepAlignment
  /** The x range shown: steps, or fractions 0–1. */
  domain: StepDomain
}

const params = (domain: StepDomain) => stepParams(domain, domain[1] <= 1 ? 1e-9 : 1)

const xAxis = ({ alignment }: AxisScope) =>
  alignment === 'step' ? stepAxis('Training step', { field: 'x' }) : stepAxis('Fraction of training', { field: 'x', fraction: true })

/** The x range of a comparison's points. */
export function comparedDomain(points: readonly { x: number }[]): StepDomain {
  let lo = Infinity
  let hi = -Infinity
  for (const p of points) {
    lo = Math.min(lo, p.x)
    hi = Math.max(hi, p.x)
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1]
}

/**
 * Runs overlaid: a line per layer and run, coloured by layer and dashed by run (legend: the runs' names).
 * @example compareLinesSpec(comparison.sparsity, { title: 'Sparsity', runs, alignment: 'step', domain })
 */
export function compareLinesSpec(
  points: readonly ComparedPoint[],
  scope: AxisScope & {
    title: string
    subtitle?: string
    yTitle: string
    format: string
    runs: readonly { run: string; name: string }[]
    small?: boolean
    /** The colour scale's layers, in order: charts given the same list give a layer the same colour. @default the points' layers, by name */
    layers?: readonly string[]
    /** Draw the layer and run legends; a page whose small multiples share one legend turns them off. @default true */
    legend?: boolean
    /** Dragging across the chart selects an x range (the `zoom` param) a page may zoom to. @default false */
    zoom?: boolean
    /** A dot at each point, so a series of one point or of far-apart updates shows. @default false */
    points?: boolean
  },
): VegaLiteSpec {
  const label = new Map(scope.runs.map((r, i) => [r.run, `${runLabel(i)}: ${r.name}`]))
  const legend = scope.legend ?? true
  const rows = points.map((p) => ({ ...p, runLabel: label.get(p.run) ?? p.run }))
  const encoding = {
    x: xAxis(scope),
    y: { field: 'value', type: 'quantitative', title: scope.yTitle, axis: { format: scope.format }, scale: { padding: 8, nice: false } },
    color: {
      field: 'layer',
      type: 'nominal',
      title: 'Layer',
      ...(scope.layers ? { scale: { domain: [...scope.layers] } } : {}),
      legend: legend ? { orient: 'top', labelLimit: 200, columns: 4 } : null,
    },
    strokeDash: runDash([...label.values()], legend),
    detail: { field: 'run', type: 'nominal' },
    tooltip: [
      { field: 'runLabel', type: 'nominal', title: 'Run' },
      { field: 'layer', type: 'nominal', title: 'Layer' },
      { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
      { field: 'value', type: 'quantitative', title: scope.yTitle, format: scope.format.replace('~', '') },
    ],
  }
  const zoom = scope.zoom ? [{ name: 'zoom', select: { type: 'interval', encodings: ['x'] } }] : []
  const line = { type: 'line', strokeWidth: 1.5, clip: true }
  const base = {
    $schema: SCHEMA,
    description: `${scope.title}: compared runs, one colour per layer, one dash per run`,
    title: scope.subtitle ? { text: scope.title, subtitle: scope.subtitle } : { text: scope.title },
    width: 'container',
    height: scope.small ? 100 : 220,
    datasets: { [COMPARE_DATASET.points]: rows },
    data: { name: COMPARE_DATASET.points },
  }
  if (!scope.points) return { ...base, params: [...params(scope.domain), ...zoom], mark: line, encoding }
  // the dots in a layer of their own, undashed: a line's point overlay would turn the run legend's dashes into dots
  const { strokeDash: _dash, ...undashed } = encoding
  return {
    ...base,
    params: params(scope.domain),
    layer: [
      { ...(zoom.length ? { params: zoom } : {}), mark: line, encoding },
      { mark: { type: 'point', filled: true, size: 14, clip: true }, encoding: undashed },
    ],
  }
}

/**
 * The later runs minus the first (B − A): a line per layer with a zero rule, or past HEATMAP_LAYER_THRESHOLD
 * layers a layer × x heatmap on a diverging scale centred on zero.
 * @example differenceSpec(comparison.sparsityDifference, { title: 'Sparsity, B − A', format: '+.1%', alignment, domain })
 */
export function differenceSpec(
  diffs: readonly DifferencePoint[],
  scope: AxisScope & {
    title: string
    subtitle?: string
    yTitle: string
    format: string
    small?: boolean
    /** The colour scale's layers of the line chart, in order (as compareLinesSpec's). @default the layers, by name */
    layers?: readonly string[]
    /** Every compared run, the first included: past two, each later run's lines take its dash of compareLinesSpec. @default undefined (one dash) */
    runs?: readonly { run: string; name: string }[]
  },
): VegaLiteSpec {
  const layers = new Set(diffs.map((d) => d.layer))
  const base = {
    $schema: SCHEMA,
    description: `${scope.title}: difference of the later runs from the first, per layer`,
    title: scope.subtitle ? { text: scope.title, subtitle: scope.subtitle } : { text: scope.title },
    width: 'container',
    params: params(scope.domain),
    datasets: { [COMPARE_DATASET.differences]: diffs },
  }
  const tooltip = [
    { field: 'run', type: 'nominal', title: 'Run' },
    { field: 'layer', type: 'nominal', title: 'Layer' },
    { field: 'x', type: 'quantitative', title: scope.alignment === 'step' ? 'Step' : 'Fraction', format: scope.alignment === 'step' ? ',d' : '.1%' },
    { field: 'delta', type: 'quantitative', title: scope.yTitle, format: scope.format.replace('~', '') },
  ]
  // past two runs each later run's lines take its dash, labelled as the difference they are: "C − A: name"
  const later = scope.runs && scope.runs.length > 2 ? scope.runs.slice(1) : null
  const dashes = later && {
    labels: later.map((r, i) => `${runLabel(i + 1)} − A: ${r.name}`),
    expr: later.reduceRight((rest, r, i) => `datum.run === ${JSON.stringify(r.run)} ? ${JSON.stringify(`${runLabel(i + 1)} − A: ${r.name}`)} : ${rest}`, 'datum.run'),
  }
  if (layers.size > HEATMAP_LAYER_THRESHOLD) {
    const extent = Math.max(1e-9, ...diffs.map((d) => Math.abs(d.delta)))
    return {
      ...base,
      height: Math.min(12 * layers.size, 2400),
      data: { name: COMPARE_DATASET.differences },
      mark: { type: 'rect', clip: true },
      encoding: {
        x: { ...xAxis(scope), bin: false },
        y: { field: 'layer', type: 'nominal', title: null, sort: null, axis: { labelLimit: 240, labelFontSize: 10 } },
        color: { field: 'delta', type: 'quantitative', title: scope.yTitle, scale: { scheme: 'blueorange', domain: [-extent, extent], domainMid: 0 }, legend: { format: scope.format, orient: 'top' } },
        tooltip,
      },
    }
  }
  return {
    ...base,
    height: scope.small ? 100 : 180,
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', strokeDash: [4, 3], opacity: 0.6 }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
      {
        data: { name: COMPARE_DATASET.differences },
        ...(dashes ? { transform: [{ calculate: dashes.expr, as: 'runLabel' }] } : {}),
        mark: { type: 'line', strokeWidth: 1.5, clip: true, point: { size: 12 } },
        encoding: {
          x: xAxis(scope),
          y: { field: 'delta', type: 'quantitative', title: scope.yTitle, axis: { format: scope.format }, scale: { padding: 8, nice: false } },
          color: { field: 'layer', type: 'nominal', title: 'Layer', ...(scope.layers ? { scale: { domain: [...scope.layers] } } : {}), legend: { orient: 'top', labelLimit: 200, columns: 4 } },
          ...(dashes
            ? { strokeDash: runDash(dashes.labels, true, 1) }
            : {}),
          detail: { field: 'run', type: 'nominal' },
          tooltip,
        },
      },
    ],
  }
}

/**
 * The runs' histograms of one layer at matched steps, drawn over each other, one colour per run (past two runs,
 * as outlines): each bar is its run's share of its finite non-zero weights in the bin (runs of different sparsity
 * keep different counts). The rows must come from ONE `comparedHistogramRows` call, so every run's bars share bin edges.
 * @example comparedHistogramSpec(comparedHistogramRows([{ hist: a, series: 'A · step 400' }, { hist: b, series: 'B · step 400' }]), { title: 'Weights at step 400', series: ['A · step 400', 'B · step 400'] })
 */
export function comparedHistogramSpec(rows: readonly HistogramRow[], scope: { title: string; subtitle?: string; series: readonly string[]; small?: boolean }): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    description: `${scope.title}: share of each run's finite non-zero weights per bin, on shared bins`,
    title: scope.subtitle ? { text: scope.title, subtitle: scope.subtitle } : { text: scope.title },
    width: 'container',
    height: scope.small ? 100 : 200,
    datasets: { [COMPARE_DATASET.histogram]: rows },
    data: { name: COMPARE_DATASET.histogram },
    // two runs overlap as translucent bars; more would blend into colours no legend shows, so they are outlines
    mark: scope.series.length > 2 ? { type: 'bar', binSpacing: 0, filled: false, strokeWidth: 1.5 } : { type: 'bar', binSpacing: 0, opacity: 0.55 },
    encoding: {
      // labels at least 8 px apart: bins of small weights have long tick labels (−0.02, 0.00)
      x: { field: 'bin_start', type: 'quantitative', title: 'Weight value', bin: { binned: true }, axis: { tickCount: { expr: 'ceil(width / 70)' }, labelSeparation: 8 } },
      x2: { field: 'bin_end' },
      y: { field: 'share', type: 'quantitative', title: 'Share of non-zero weights', stack: null, axis: { format: '.1~%' } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: [...scope.series] }, legend: { orient: 'top', columns: 2, labelLimit: 200 } },
      tooltip: [
        { field: 'series', type: 'nominal', title: 'Run' },
        { field: 'bin_start', type: 'quantitative', title: 'From', format: '.4f' },
        { field: 'bin_end', type: 'quantitative', title: 'To', format: '.4f' },
        { field: 'share', type: 'quantitative', title: 'Share', format: '.2%' },
        { field: 'count', type: 'quantitative', title: 'Weights (split bins: fractional)', format: ',.1~f' },
      ],
    },
  }
}

/** One run's drops or grows of one layer at one update, on the comparison's x axis. */
export interface ComparedEventRow {
  run: string
  layer: string
  step: number
  x: number
  op: TopologyOp
  count: number
  /** Drops below the axis, grows above it. */
  signed: number
}

/** Grown and dropped in Okabe–Ito's green and vermillion: apart from each other and readable on light and dark pages. */
const CHANGE_COLORS = { domain: ['grown', 'dropped'], range: ['#009E73', '#D55E00'] }

/**
 * The runs' topology updates of one layer on one axis: connections grown per update above zero, dropped below,
 * a colour per direction and the runs' dash styles (RUN_DASHES).
 * @example comparedEventsSpec(rows, { title: 'Drops and grows', runs, alignment: 'step', domain, small: true })
 */
export function comparedEventsSpec(
  rows: readonly ComparedEventRow[],
  scope: AxisScope & { title: string; subtitle?: string; runs: readonly { run: string; name: string }[]; small?: boolean },
): VegaLiteSpec {
  // small multiples name the runs by letter only: the page's one legend spells them out
  const label = new Map(scope.runs.map((r, i) => [r.run, scope.small ? runLabel(i) : `${runLabel(i)}: ${r.name}`]))
  const data = rows.map((r) => ({ ...r, runLabel: label.get(r.run) ?? r.run, change: r.op === 'grow' ? 'grown' : 'dropped' }))
  return {
    $schema: SCHEMA,
    description: `${scope.title}: connections each run's updates grew (above 0) and dropped (below 0)`,
    title: scope.subtitle ? { text: scope.title, subtitle: scope.subtitle } : { text: scope.title },
    width: 'container',
    height: scope.small ? 100 : 180,
    params: params(scope.domain),
    datasets: { [COMPARE_DATASET.events]: data },
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', opacity: 0.6 }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
      {
        data: { name: COMPARE_DATASET.events },
        mark: { type: 'line', strokeWidth: 1.5, clip: true, point: { size: 12 } },
        encoding: {
          x: xAxis(scope),
          y: { field: 'signed', type: 'quantitative', title: 'Connections', axis: { format: ',d' }, scale: { padding: 6, nice: false } },
          color: { field: 'change', type: 'nominal', title: null, scale: CHANGE_COLORS, legend: { orient: 'top' } },
          strokeDash: runDash([...label.values()], !scope.small),
          tooltip: [
            { field: 'runLabel', type: 'nominal', title: 'Run' },
            { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
            { field: 'change', type: 'nominal', title: 'Change' },
            { field: 'count', type: 'quantitative', title: 'Connections', format: ',d' },
          ],
        },
      },
    ],
  }
}
