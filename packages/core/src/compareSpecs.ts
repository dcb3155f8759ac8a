/**
 * Vega-Lite specs of a comparison (compareRuns): runs overlaid with one colour per layer and one dash style
 * per run, and the later runs' differences from the first. Their x axis is the comparison's aligned axis:
 * the training step, or the fraction of each run's training; its range is the STEP_DOMAIN params, as on
 * every step-axis chart, so one zoom serves a page.
 */
import { HEATMAP_LAYER_THRESHOLD, STEP_DOMAIN, type StepDomain, type VegaLiteSpec } from './chartSpecs.js'
import type { ComparedPoint, DifferencePoint, StepAlignment } from './compareRuns.js'

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'

/** Dash patterns of the compared runs, in order: solid, dashed, dotted, dash-dot (MAX_COMPARED_RUNS of them). */
export const RUN_DASHES: readonly number[][] = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]

/** Names of the compare charts' datasets. */
export const COMPARE_DATASET = { points: 'compared', differences: 'differences' } as const

interface AxisScope {
  alignment: StepAlignment
  /** The x range shown: steps, or fractions 0–1. */
  domain: StepDomain
}

function params(domain: StepDomain) {
  return [
    { name: STEP_DOMAIN.lo, value: domain[0] },
    { name: STEP_DOMAIN.hi, value: Math.max(domain[1], domain[0] + (domain[1] <= 1 ? 1e-9 : 1)) },
  ]
}

function xAxis({ alignment }: AxisScope) {
  return {
    field: 'x',
    type: 'quantitative',
    title: alignment === 'step' ? 'Training step' : 'Fraction of training',
    scale: { domainMin: { expr: STEP_DOMAIN.lo }, domainMax: { expr: STEP_DOMAIN.hi }, nice: false, zero: false },
    axis: alignment === 'step' ? { format: ',d', tickMinStep: 1, tickCount: { expr: 'ceil(width / 90)' } } : { format: '.0%', tickCount: { expr: 'ceil(width / 90)' } },
  }
}

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
  scope: AxisScope & { title: string; subtitle?: string; yTitle: string; format: string; runs: readonly { run: string; name: string }[]; small?: boolean },
): VegaLiteSpec {
  const label = new Map(scope.runs.map((r, i) => [r.run, `${String.fromCharCode(65 + i)}: ${r.name}`]))
  const rows = points.map((p) => ({ ...p, runLabel: label.get(p.run) ?? p.run }))
  return {
    $schema: SCHEMA,
    description: `${scope.title}: compared runs, one colour per layer, one dash per run`,
    title: scope.subtitle ? { text: scope.title, subtitle: scope.subtitle } : { text: scope.title },
    width: 'container',
    height: scope.small ? 100 : 220,
    params: params(scope.domain),
    datasets: { [COMPARE_DATASET.points]: rows },
    data: { name: COMPARE_DATASET.points },
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: xAxis(scope),
      y: { field: 'value', type: 'quantitative', title: scope.yTitle, axis: { format: scope.format } },
      color: { field: 'layer', type: 'nominal', title: 'Layer', legend: { orient: 'top', labelLimit: 200, columns: 4 } },
      strokeDash: {
        field: 'runLabel',
        type: 'nominal',
        title: 'Run',
        sort: [...label.values()],
        scale: { domain: [...label.values()], range: RUN_DASHES.slice(0, label.size) },
        legend: { orient: 'top', symbolStrokeWidth: 2, symbolSize: 400, labelLimit: 260 },
      },
      detail: { field: 'run', type: 'nominal' },
      tooltip: [
        { field: 'runLabel', type: 'nominal', title: 'Run' },
        { field: 'layer', type: 'nominal', title: 'Layer' },
        { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
        { field: 'value', type: 'quantitative', title: scope.yTitle, format: scope.format.replace('~', '') },
      ],
    },
  }
}

/**
 * The later runs minus the first (B − A): a line per layer with a zero rule, or past HEATMAP_LAYER_THRESHOLD
 * layers a layer × x heatmap on a diverging scale centred on zero.
 * @example differenceSpec(comparison.sparsityDifference, { title: 'Sparsity, B − A', format: '+.1%', alignment, domain })
 */
export function differenceSpec(
  diffs: readonly DifferencePoint[],
  scope: AxisScope & { title: string; subtitle?: string; yTitle: string; format: string; small?: boolean },
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
        mark: { type: 'line', strokeWidth: 1.5, clip: true, point: { size: 12 } },
        encoding: {
          x: xAxis(scope),
          y: { field: 'delta', type: 'quantitative', title: scope.yTitle, axis: { format: scope.format } },
          color: { field: 'layer', type: 'nominal', title: 'Layer', legend: { orient: 'top', labelLimit: 200, columns: 4 } },
          detail: { field: 'run', type: 'nominal' },
          tooltip,
        },
      },
    ],
  }
}
