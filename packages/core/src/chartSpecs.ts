import { rebinHistograms } from './rebinHistograms.js'
import { MODEL_CHURN, type BandRow, type ChurnRow, type ExplorationRow, type RegrowthRow } from './dynamics.js'
import type { Flag } from './flags.js'
import type { EventRecord, Histogram, LayerSample, SampleRecord } from './schema.js'

/** A Vega-Lite v6 specification as plain JSON. */
export type VegaLiteSpec = { $schema: string } & Record<string, unknown>

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'

/** Names of the datasets inside the specs; a live view inserts new rows into them by name. */
export const DATASET = {
  sparsity: 'sparsity',
  histogram: 'histogram',
  events: 'events',
  eventMarks: 'event_marks',
  flagMarks: 'flag_marks',
  churn: 'churn',
  bands: 'bands',
  exploration: 'exploration',
  regrowth: 'regrowth',
  scalars: 'scalars',
  metrics: 'metrics',
} as const

/**
 * The step range every step-axis chart shows, as two Vega params a live view updates (`view.signal`), so
 * the charts of a page share one x domain (and one zoom) without being rebuilt.
 */
export const STEP_DOMAIN = { lo: 'step_lo', hi: 'step_hi' } as const

/** A step range, first and last step shown. */
export type StepDomain = readonly [number, number]

/** The two params holding a step-axis chart's x domain; an empty range widens to `minSpan`. */
export function stepParams(domain: StepDomain, minSpan = 1) {
  return [
    { name: STEP_DOMAIN.lo, value: domain[0] },
    { name: STEP_DOMAIN.hi, value: Math.max(domain[1], domain[0] + minSpan) },
  ]
}

/**
 * The x encoding of a step-axis chart: the shared domain, no padding past the data, thousands separators. Its
 * marks clip to the plot: a zoomed domain leaves marks outside it, which would otherwise draw over the axes and
 * make a container-fitted chart shrink its plot to hold them.
 */
export function stepAxis(title = 'Training step', { field = 'step', fraction = false }: { field?: string; fraction?: boolean } = {}) {
  const tickCount = { expr: 'ceil(width / 90)' }
  return {
    field,
    type: 'quantitative',
    title,
    scale: { domainMin: { expr: STEP_DOMAIN.lo }, domainMax: { expr: STEP_DOMAIN.hi }, nice: false, zero: false },
    // a fraction of training (0 to 1) reads as a percentage
    axis: fraction ? { format: '.0%', tickCount } : { format: ',d', tickMinStep: 1, tickCount },
  }
}

/** A Vega field reference to a name taken literally (Vega reads dots, brackets and quotes in field names as a path). */
function literalField(name: string): string {
  return name.replace(/[.[\]\\'"]/g, (c) => `\\${c}`)
}

/** The steps a run's samples span, for the step-axis charts. */
export function stepDomainOf(samples: readonly { step: number }[]): StepDomain {
  return [samples[0]?.step ?? 0, samples.at(-1)?.step ?? 0]
}

/** Plot height of a per-layer small multiple, in pixels. */
const SMALL_HEIGHT = 100

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
  /** On a grow: how many of its positions the layer's previous update had dropped, when the profiler says. */
  regrown?: number
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
  // 0 - count, not -count: a drop of 0 is +0, as JSON brings it back (-0 is written as 0)
  return events
    .filter((e) => layer === undefined || e.layer === layer)
    .map((e) => ({ step: e.step, layer: e.layer, op: e.op, count: e.count, signed: e.op === 'drop' ? 0 - e.count : e.count, ...(e.regrown === undefined ? {} : { regrown: e.regrown }) }))
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

const formatTarget = (fraction: number) => `${Number((fraction * 100).toFixed(2))}%`

/** Where a flag starts, for the marks on the sparsity chart. */
export interface FlagMarkRow {
  step: number
  severity: Flag['severity']
  rule: Flag['rule']
  message: string
}

/** One mark per flag, at its first step. */
export function flagMarkRows(flags: readonly Flag[]): FlagMarkRow[] {
  return flags.map(({ from, severity, rule, message }) => ({ step: from, severity, rule, message }))
}

/** A heatmap cell: one layer from one sample until the next, so a widened sampling interval leaves no gap. */
export interface HeatmapRow extends SparsityRow {
  step_end: number
}

/**
 * Rows of the layer × step heatmap: each sample's cell spans to the next sample's step (the last one by the
 * interval before it), so columns touch however the interval changed.
 */
export function heatmapRows(samples: readonly SampleRecord[]): HeatmapRow[] {
  return samples.flatMap((s, i) => {
    const next = samples[i + 1]?.step ?? s.step + Math.max(1, s.step - (samples[i - 1]?.step ?? s.step - 1))
    return s.layers.map((l) => ({ step: s.step, step_end: next, layer: l.name, sparsity: l.sparsity }))
  })
}

// A long layer name keeps its head and its tail, where layer paths differ ("layers.11.mlp.fc2").
const SHORT_LAYER_LABEL = "length(datum.label) > 32 ? substring(datum.label, 0, 12) + '…' + substring(datum.label, length(datum.label) - 19) : datum.label"

export interface SparsitySpecOptions {
  /** The layers drawn, in order: their count picks lines or heatmap; their names fill the crosshair tooltip. */
  layers: readonly string[]
  /** The sparsity the algorithm aims for (its `sparsity` parameter), drawn as a labelled rule. */
  target?: number | null
  /**
   * Flags to mark where they start (rows from `flagMarkRows`). A layer of marks is drawn only when there are
   * some, as with `events`: an empty one makes Vega warn of an infinite extent. A live page passes `[]` with
   * `markFlags` / `markEvents` true once it has some, and streams the rows.
   */
  flags?: readonly FlagMarkRow[]
  markFlags?: boolean
  markEvents?: boolean
  /** The steps the x axis spans (see STEP_DOMAIN). */
  domain: StepDomain
}

/**
 * Per-layer sparsity over training steps: one line per layer, with the steps where the topology changed
 * drawn as faint rules and a crosshair whose tooltip lists every layer at the step under the pointer;
 * past HEATMAP_LAYER_THRESHOLD layers, a layer × step heatmap (rows from `heatmapRows`) instead.
 * Dragging across the lines selects a step range (the `zoom` param) a page may zoom to.
 * @example sparsitySpec(sparsityRows(snapshot.samples), eventsPerStep(snapshot.events), { layers, domain: stepDomainOf(snapshot.samples) })
 */
export function sparsitySpec(rows: readonly SparsityRow[], events: readonly EventRow[], options: SparsitySpecOptions): VegaLiteSpec {
  const { layers, domain, target, flags = [] } = options
  const base = {
    $schema: SCHEMA,
    description: 'Per-layer sparsity over training steps',
    width: 'container',
    params: stepParams(domain),
    datasets: { [DATASET.sparsity]: rows, [DATASET.eventMarks]: events, [DATASET.flagMarks]: flags },
  }
  const markEvents = options.markEvents ?? events.length > 0
  const markFlags = options.markFlags ?? flags.length > 0
  if (layers.length > HEATMAP_LAYER_THRESHOLD) {
    return {
      ...base,
      height: Math.min(12 * layers.length, 2400),
      data: { name: DATASET.sparsity },
      mark: { type: 'rect', clip: true },
      encoding: {
        x: stepAxis(),
        x2: { field: 'step_end' },
        y: { field: 'layer', type: 'nominal', title: null, sort: null, axis: { labelExpr: SHORT_LAYER_LABEL, labelLimit: 240, labelFontSize: 10 } },
        color: {
          field: 'sparsity',
          type: 'quantitative',
          title: 'Sparsity',
          scale: { scheme: 'viridis', domain: [0, 1] },
          legend: { format: '.0%', orient: 'top', direction: 'horizontal', gradientLength: 160, titleOrient: 'left' },
        },
        tooltip: [
          { field: 'layer', type: 'nominal', title: 'Layer' },
          { field: 'step', type: 'quantitative', title: 'From step', format: ',d' },
          { field: 'step_end', type: 'quantitative', title: 'Until step', format: ',d' },
          { field: 'sparsity', type: 'quantitative', title: 'Sparsity', format: '.2%' },
        ],
      },
    }
  }
  const targetRule =
    typeof target === 'number'
      ? [
          {
            data: { values: [{ target, label: `target ${formatTarget(target)}` }] },
            mark: { type: 'rule', strokeDash: [6, 3], strokeWidth: 1 },
            encoding: { y: { field: 'target', type: 'quantitative' } },
          },
          {
            data: { values: [{ target, label: `target ${formatTarget(target)}` }] },
            mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 3, fontSize: 10 },
            encoding: { y: { field: 'target', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } },
          },
        ]
      : []
  return {
    ...base,
    height: 220,
    layer: [
      ...targetRule,
      ...(markEvents ? [{ data: { name: DATASET.eventMarks }, mark: { type: 'rule', opacity: 0.35, strokeDash: [2, 2], clip: true }, encoding: { x: stepAxis() } }] : []),
      ...(markFlags
        ? [
            {
              data: { name: DATASET.flagMarks },
              mark: { type: 'rule', strokeWidth: 2, clip: true },
              encoding: {
                x: stepAxis(),
                // one colour, not a scale: a colour scale would merge with the layers' (the tooltip says the severity)
                color: { value: '#D55E00' },
                tooltip: [
                  { field: 'severity', type: 'nominal', title: 'Flag' },
                  { field: 'rule', type: 'nominal', title: 'Rule' },
                  { field: 'message', type: 'nominal', title: 'Finding' },
                ],
              },
            },
          ]
        : []),
      {
        data: { name: DATASET.sparsity },
        params: [{ name: 'zoom', select: { type: 'interval', encodings: ['x'] } }],
        mark: { type: 'line', point: { size: 16 }, strokeWidth: 1.5, clip: true },
        encoding: {
          x: stepAxis(),
          y: { field: 'sparsity', type: 'quantitative', title: 'Sparsity', axis: { format: '.1~%' }, scale: { zero: false, padding: 8 } },
          color: { field: 'layer', type: 'nominal', title: 'Layer', sort: layers, legend: { orient: 'top', labelLimit: 200, columns: 4 } },
        },
      },
      {
        // the crosshair: a rule at the nearest sampled step, its tooltip every layer's sparsity there
        data: { name: DATASET.sparsity },
        transform: [{ pivot: 'layer', value: 'sparsity', groupby: ['step'] }],
        params: [{ name: 'crosshair', select: { type: 'point', fields: ['step'], nearest: true, on: 'pointerover', clear: 'pointerout' } }],
        mark: { type: 'rule', strokeWidth: 1, clip: true },
        encoding: {
          x: stepAxis(),
          opacity: { condition: { param: 'crosshair', empty: false, value: 0.6 }, value: 0 },
          tooltip: [
            { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
            ...layers.map((name) => ({ field: literalField(name), type: 'quantitative', title: name, format: '.2%' })),
          ],
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
export function histogramSpec(rows: readonly HistogramRow[], at: { layer: string; step?: number; small?: boolean }): VegaLiteSpec {
  const where = at.step === undefined ? at.layer : `${at.layer} · step ${at.step}`
  return {
    $schema: SCHEMA,
    description: `Share of the finite non-zero weights of ${where} per bin`,
    // small multiples say what they count once, above them all
    title: at.small ? { text: 'Weights: first vs last step' } : { text: where, subtitle: HISTOGRAM_SUBTITLE, subtitleFontSize: 11 },
    width: 'container',
    height: at.small ? SMALL_HEIGHT : 200,
    datasets: { [DATASET.histogram]: rows },
    data: { name: DATASET.histogram },
    mark: { type: 'bar', binSpacing: 0, opacity: 0.6 },
    encoding: {
      x: { field: 'bin_start', type: 'quantitative', title: 'Weight value', bin: { binned: true } },
      x2: { field: 'bin_end' },
      y: { field: 'share', type: 'quantitative', title: 'Share of non-zero weights', stack: null, axis: { format: '.1~%' } },
      color: { field: 'series', type: 'nominal', title: 'Histogram', legend: { orient: 'top', title: null } },
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

const REWIRED = 'rewired'
const NET = 'net change'

/**
 * Topology updates per step: the connections an update rewired (dropped and regrown at once, as RigL and SET
 * do) drawn once, and the net change in active connections (what pruning or growth alone leaves) beside it,
 * in two colour-blind-safe colours; drops and grows stay in the tooltip. Rows of several layers at a step
 * are summed.
 * @example eventsSpec(eventRows(snapshot.events, 'fc1'), { layer: 'fc1', domain: stepDomainOf(snapshot.samples) })
 */
export function eventsSpec(rows: readonly EventRow[], scope: { layer?: string; domain: StepDomain; small?: boolean }): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    description: `Topology updates${scope.layer ? ` of ${scope.layer}` : ''}: connections rewired and net change per step`,
    title: scope.small
      ? { text: 'Topology updates' }
      : { text: `Topology updates · ${scope.layer ?? 'all layers'}`, subtitle: ['Rewired: dropped and regrown at once.', 'Net change: grown minus dropped.'] },
    width: 'container',
    height: scope.small ? SMALL_HEIGHT : 150,
    params: stepParams(scope.domain),
    datasets: { [DATASET.events]: rows },
    data: { name: DATASET.events },
    transform: [
      { aggregate: [{ op: 'sum', field: 'count', as: 'count' }], groupby: ['step', 'op'] },
      { pivot: 'op', value: 'count', groupby: ['step'] },
      { calculate: 'datum.drop || 0', as: 'dropped' },
      { calculate: 'datum.grow || 0', as: 'grown' },
      { calculate: 'min(datum.dropped, datum.grown)', as: REWIRED },
      { calculate: 'datum.grown - datum.dropped', as: NET },
      { fold: [REWIRED, NET], as: ['kind', 'connections'] },
      { filter: 'datum.connections != 0' },
    ],
    mark: { type: 'bar', size: 4, clip: true },
    encoding: {
      x: stepAxis(),
      y: { field: 'connections', type: 'quantitative', title: 'Connections', axis: { format: ',d' } },
      color: { field: 'kind', type: 'nominal', title: null, scale: { domain: [REWIRED, NET] }, legend: { orient: 'top' } },
      tooltip: [
        { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
        { field: 'dropped', type: 'quantitative', title: 'Dropped', format: ',d' },
        { field: 'grown', type: 'quantitative', title: 'Grown', format: ',d' },
        { field: 'kind', type: 'nominal', title: 'Bar' },
        { field: 'connections', type: 'quantitative', title: 'Connections', format: ',d' },
      ],
    },
  }
}

/**
 * Topology churn: the share of each layer's active connections every update rewired (see ChurnRow), one
 * line per layer; a run that settles shows its lines falling toward 0.
 * @example churnSpec(churnRows(events, nnzAt), { domain: [0, 3000] })
 */
export function churnSpec(rows: readonly ChurnRow[], scope: { layer?: string; domain: StepDomain; small?: boolean }): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    description: `Topology churn${scope.layer ? ` of ${scope.layer}` : ''}: share of active connections rewired per update`,
    title: scope.small
      ? { text: 'Topology churn' }
      : { text: `Topology churn · ${scope.layer ?? 'per layer'}`, subtitle: 'Share of active connections each update rewired' },
    width: 'container',
    height: scope.small ? SMALL_HEIGHT : 150,
    params: stepParams(scope.domain),
    datasets: { [DATASET.churn]: rows },
    data: { name: DATASET.churn },
    mark: { type: 'line', point: { size: 14 }, strokeWidth: 1.5, clip: true },
    encoding: {
      x: stepAxis(),
      y: { field: 'churn', type: 'quantitative', title: 'Rewired', axis: { format: '.1~%' } },
      color: { field: 'layer', type: 'nominal', title: 'Layer', legend: scope.layer ? null : { orient: 'top', labelLimit: 200, columns: 4 } },
      tooltip: [
        { field: 'layer', type: 'nominal', title: 'Layer' },
        { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
        { field: 'churn', type: 'quantitative', title: 'Rewired', format: '.2%' },
        { field: 'drops', type: 'quantitative', title: 'Dropped', format: ',d' },
        { field: 'grows', type: 'quantitative', title: 'Grown', format: ',d' },
      ],
    },
  }
}

/** The whole model's exploration line: Okabe–Ito's grey, apart from every layer's colour on either scheme. */
const MODEL_LINE = '#999999'

/**
 * A line chart of an exploration share over steps: one line per layer and, over them, the whole model's
 * (MODEL_CHURN rows) heavier, dashed and grey, left out of the colour scale so each layer keeps the colour it
 * has in the churn chart; with `layer`, that one line only.
 */
function explorationLines(rows: readonly ExplorationRow[], scope: { layer?: string; domain: StepDomain; small?: boolean }, measure: {
  field: 'itop' | 'maskDistance'
  description: string
  title: string
  subtitle: string
  small: string
  axis: string
  tooltip: string
  y: Record<string, unknown>
}): VegaLiteSpec {
  const line = (filter: Record<string, unknown>, strokeWidth: number, color: Record<string, unknown> | null, strokeDash?: number[]) => ({
    transform: [{ filter }],
    mark: { type: 'line', point: { size: 14 }, strokeWidth, clip: true, ...(strokeDash ? { strokeDash } : {}) },
    encoding: {
      x: stepAxis(),
      y: { field: measure.field, type: 'quantitative', title: measure.axis, ...measure.y },
      ...(color ? { color } : {}),
      tooltip: [
        { field: 'layer', type: 'nominal', title: 'Layer' },
        { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
        { field: measure.field, type: 'quantitative', title: measure.tooltip, format: '.2%' },
      ],
    },
  })
  const lines = scope.layer
    ? [line({ field: 'layer', equal: scope.layer }, 1.5, null)]
    : [
        line({ not: { field: 'layer', equal: MODEL_CHURN } }, 1.5, { field: 'layer', type: 'nominal', title: 'Layer', legend: { orient: 'top', labelLimit: 200, columns: 4 } }),
        // on top and dashed: the largest layer's line often runs along it, and shows through the gaps
        line({ field: 'layer', equal: MODEL_CHURN }, 3, { value: MODEL_LINE }, [6, 4]),
      ]
  return {
    $schema: SCHEMA,
    description: `${measure.description}${scope.layer ? ` of ${scope.layer}` : ' per layer'} over training steps`,
    title: scope.small
      ? { text: measure.small }
      : scope.layer
        ? { text: `${measure.title} · ${scope.layer}`, subtitle: measure.subtitle }
        : { text: measure.title, subtitle: [measure.subtitle, `Heavier dashed grey line: ${MODEL_CHURN} together`] },
    width: 'container',
    height: scope.small ? SMALL_HEIGHT : 170,
    params: stepParams(scope.domain),
    datasets: { [DATASET.exploration]: rows },
    data: { name: DATASET.exploration },
    transform: [{ filter: `isValid(datum.${measure.field})` }],
    layer: lines,
  }
}

/**
 * In-time over-parameterization (Liu et al., ICML 2021): the share of each layer's weights that have been
 * active at any point so far (rows from `explorationAt`), 0 to 100%, the whole model's line heavier. A
 * layer that explores keeps climbing; a flat line means its mask stopped reaching new positions.
 * @example itopSpec(explorationRows(snapshot.samples), { domain: stepDomainOf(snapshot.samples) })
 */
export function itopSpec(rows: readonly ExplorationRow[], scope: { layer?: string; domain: StepDomain; small?: boolean }): VegaLiteSpec {
  return explorationLines(rows, scope, {
    field: 'itop',
    description: 'In-time over-parameterization: share of weights ever active',
    title: 'In-time over-parameterization',
    subtitle: 'Share of weights active at any point so far',
    small: 'Weights ever active',
    axis: 'Ever active (% of weights)',
    tooltip: 'Ever active',
    y: { scale: { domain: [0, 1] }, axis: { format: '.0%' } },
  })
}

/**
 * Mask distance between consecutive samples: the share of active positions that changed (rows from
 * `explorationAt`), per layer, the whole model's line heavier. It falls toward 0 as a run's topology settles.
 * @example maskDistanceSpec(explorationRows(snapshot.samples), { domain: stepDomainOf(snapshot.samples) })
 */
export function maskDistanceSpec(rows: readonly ExplorationRow[], scope: { layer?: string; domain: StepDomain; small?: boolean }): VegaLiteSpec {
  return explorationLines(rows, scope, {
    field: 'maskDistance',
    description: 'Mask distance: share of active positions changed since the previous sample',
    title: 'Mask distance between samples',
    subtitle: 'Share of active positions changed since the previous sample',
    small: 'Mask distance',
    axis: 'Changed (% of active)',
    tooltip: 'Changed',
    // two significant digits: a settled run's distances are fractions of a percent
    y: { scale: { domainMin: 0 }, axis: { format: '.2~p' } },
  })
}

/**
 * Regrowth per update of one layer (rows from `regrowthRows`): the share of the grown connections that the
 * layer's previous update had dropped. Near 100%, updates undo the last one instead of exploring.
 * @example regrowthSpec(regrowthRows(history.events), { layer: 'fc1', domain: [0, 3000] })
 */
export function regrowthSpec(rows: readonly RegrowthRow[], scope: { layer: string; domain: StepDomain; small?: boolean }): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    description: `Regrowth of ${scope.layer}: share of each update's grown connections that the previous update had dropped`,
    title: scope.small
      ? { text: 'Regrowth' }
      : { text: `Regrowth per update · ${scope.layer}`, subtitle: ["Share of an update's grown connections", "that the layer's previous update had dropped"] },
    width: 'container',
    height: scope.small ? SMALL_HEIGHT : 150,
    params: stepParams(scope.domain),
    datasets: { [DATASET.regrowth]: rows },
    data: { name: DATASET.regrowth },
    mark: { type: 'line', point: { size: 20 }, strokeWidth: 1.5, clip: true },
    encoding: {
      x: stepAxis(),
      y: { field: 'share', type: 'quantitative', title: 'Regrown (% of grown)', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      tooltip: [
        { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
        { field: 'share', type: 'quantitative', title: 'Regrown', format: '.2%' },
        { field: 'regrown', type: 'quantitative', title: 'Regrown connections', format: ',d' },
        { field: 'grown', type: 'quantitative', title: 'Grown connections', format: ',d' },
      ],
    },
  }
}

/**
 * One layer's active-weight distribution over time, as TensorBoard's distributions view draws it but of the
 * non-zero weights only: the middle 90% and middle 50% as bands, the median as a line.
 * @example bandsSpec(bandRows(points), { layer: 'fc1', domain: [0, 3000] })
 */
export function bandsSpec(rows: readonly BandRow[], scope: { layer: string; domain: StepDomain; small?: boolean }): VegaLiteSpec {
  const x = stepAxis()
  const band = (lo: string, hi: string, opacity: number) => ({
    mark: { type: 'area', opacity, clip: true },
    encoding: { x, y: { field: lo, type: 'quantitative', title: 'Weight value' }, y2: { field: hi } },
  })
  return {
    $schema: SCHEMA,
    description: `Distribution of the non-zero weights of ${scope.layer} over training steps`,
    title: scope.small
      ? { text: 'Weights over time' }
      : { text: `Weight distribution over time · ${scope.layer}`, subtitle: 'Non-zero weights: median, middle 50%, middle 90%' },
    width: 'container',
    height: scope.small ? SMALL_HEIGHT : 170,
    params: stepParams(scope.domain),
    datasets: { [DATASET.bands]: rows },
    data: { name: DATASET.bands },
    layer: [
      band('p5', 'p95', 0.25),
      band('p25', 'p75', 0.5),
      {
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: {
          x,
          y: { field: 'p50', type: 'quantitative' },
          tooltip: [
            { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
            { field: 'p5', type: 'quantitative', title: '5th percentile', format: '.4f' },
            { field: 'p25', type: 'quantitative', title: '25th percentile', format: '.4f' },
            { field: 'p50', type: 'quantitative', title: 'Median', format: '.4f' },
            { field: 'p75', type: 'quantitative', title: '75th percentile', format: '.4f' },
            { field: 'p95', type: 'quantitative', title: '95th percentile', format: '.4f' },
          ],
        },
      },
    ],
  }
}

/** One model-level training scalar (the loss, say) at one sample: the mean of the values since the last sample. */
export interface ScalarRow {
  step: number
  name: string
  /** null: a NaN or ±Inf was passed in the sample's window. */
  value: number | null
}

/** The training scalars of each sample that has any, one row per name. */
export function scalarRows(samples: readonly SampleRecord[]): ScalarRow[] {
  // absent in samples of older profilers and in windows where step() got no scalars
  return samples.flatMap(({ step, scalars }) => (scalars ? (Object.entries(scalars) as [string, number | null][]).map(([name, value]) => ({ step, name, value })) : []))
}

/**
 * A training scalar over the same step axis as the sparsity charts, so "the loss jumped at step 12k" lines up
 * with what the layers did; steps where it was not finite are marked on the axis.
 * @example scalarSpec(rows, { name: 'loss', domain: [0, 3000], log: true })
 */
export function scalarSpec(rows: readonly ScalarRow[], scope: { name: string; domain: StepDomain; log?: boolean; nonFinite?: boolean }): VegaLiteSpec {
  // a layer with no rows warns of an infinite extent: the non-finite marks are drawn only when there are some
  const nonFinite = scope.nonFinite ?? rows.some((r) => r.name === scope.name && r.value === null)
  return {
    $schema: SCHEMA,
    description: `${scope.name} over training steps`,
    title: { text: scope.name, subtitle: 'Mean of the values passed to step() since the previous sample' },
    width: 'container',
    height: 150,
    params: stepParams(scope.domain),
    datasets: { [DATASET.scalars]: rows },
    data: { name: DATASET.scalars },
    transform: [{ filter: { field: 'name', equal: scope.name } }],
    layer: [
      {
        transform: [{ filter: 'isValid(datum.value)' }],
        mark: { type: 'line', strokeWidth: 1.5, point: { size: 12 }, clip: true },
        encoding: {
          x: stepAxis(),
          y: { field: 'value', type: 'quantitative', title: scope.name, scale: scope.log ? { type: 'log' } : { zero: false }, axis: { format: '~g' } },
          tooltip: [
            { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
            { field: 'value', type: 'quantitative', title: scope.name, format: '.4~g' },
          ],
        },
      },
      ...(nonFinite
        ? [
            {
              transform: [{ filter: '!isValid(datum.value)' }],
              mark: { type: 'rule', color: '#D55E00', strokeWidth: 2, clip: true },
              encoding: { x: stepAxis(), tooltip: [{ field: 'step', type: 'quantitative', title: `${scope.name} not finite at step`, format: ',d' }] },
            },
          ]
        : []),
    ],
  }
}

/** One layer's value of a user-defined metric (a plugin metric) at one sample; null where it was not finite. */
export interface MetricRow {
  step: number
  layer: string
  name: string
  value: number | null
}

/** The plugin metrics of each layer point that carries some, one row per name. */
export function metricRows(points: readonly { step: number; name: string; metrics?: Record<string, unknown> }[]): MetricRow[] {
  return points.flatMap(({ step, name: layer, metrics }) =>
    metrics ? (Object.entries(metrics) as [string, number | null][]).map(([name, value]) => ({ step, layer, name, value })) : [],
  )
}

/** Every layer point of the samples, for metricRows. */
export function layerPoints(samples: readonly SampleRecord[]): (LayerSample & { step: number })[] {
  return samples.flatMap((s) => s.layers.map((l) => ({ ...l, step: s.step })))
}

/**
 * A user-defined metric over training steps, one line per layer, drawn like the built-in per-layer charts;
 * steps where a layer's value was not finite are left out of its line.
 * @example metricSpec(metricRows(layerPoints(snapshot.samples)), { name: 'mean_abs_active', domain })
 */
export function metricSpec(rows: readonly MetricRow[], scope: { name: string; domain: StepDomain; layer?: string }): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    description: `Metric ${scope.name}${scope.layer ? ` of ${scope.layer}` : ' per layer'} over training steps`,
    title: { text: `${scope.name}${scope.layer ? ` · ${scope.layer}` : ' · per layer'}`, subtitle: 'Your metric, computed at each sample' },
    width: 'container',
    height: 150,
    params: stepParams(scope.domain),
    datasets: { [DATASET.metrics]: rows },
    data: { name: DATASET.metrics },
    transform: [{ filter: { field: 'name', equal: scope.name } }, { filter: 'isValid(datum.value)' }],
    mark: { type: 'line', point: { size: 12 }, strokeWidth: 1.5, clip: true },
    encoding: {
      x: stepAxis(),
      y: { field: 'value', type: 'quantitative', title: scope.name, scale: { zero: false }, axis: { format: '~g' } },
      color: { field: 'layer', type: 'nominal', title: 'Layer', legend: scope.layer ? null : { orient: 'top', labelLimit: 200, columns: 4 } },
      tooltip: [
        { field: 'layer', type: 'nominal', title: 'Layer' },
        { field: 'step', type: 'quantitative', title: 'Step', format: ',d' },
        { field: 'value', type: 'quantitative', title: scope.name, format: '.4~g' },
      ],
    },
  }
}
