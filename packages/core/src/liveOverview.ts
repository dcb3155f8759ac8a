import { HEATMAP_LAYER_THRESHOLD, eventsPerStep, scalarRows, type EventRow, type SparsityRow } from './chartSpecs.js'
import { addToChurn, churnRows, explorationAt } from './dynamics.js'
import { COST_WINDOW } from './profilerCost.js'
import { costPoint, decimateSamples, modelChurn, sparsityColumn, thinChurn, type RunOverview } from './runViews.js'
import type { EventRecord, LayerInfo, LayerRecord, WireRecord } from './schema.js'

/** Samples a live page asks the overview for; `applyToOverview` thins back to this once it holds twice as many. */
export const OVERVIEW_POINTS = 300

/** Storage changes a live overview keeps; `applyToOverview` drops the oldest once it holds twice as many. */
export const MAX_LAYER_CHANGES = 1000

/**
 * A run's overview as a live page holds it: the server's `runOverview`, grown by each record after it.
 * Every `applyToOverview` returns a new object and leaves the old one as it was; arrays that only grew keep
 * their earlier rows (the same objects), so a chart can insert just the new ones.
 *
 * A matrix row taken before a layer joined is shorter than `run.layers`: its missing entries read as null,
 * as the server's overview spells them.
 */
export interface LiveOverview extends RunOverview {
  /** One row per layer per matrix step, for the line chart; empty past HEATMAP_LAYER_THRESHOLD layers. */
  sparsityRows: SparsityRow[]
  /** Samples applied since the overview (thinning does not change it). */
  liveSamples: number
  /** Index of each layer in `run.layers`. */
  layerIndex: ReadonlyMap<string, number>
}

export interface LiveOverviewOptions {
  /** The matrix is thinned evenly back to this many samples once it holds twice as many. @default OVERVIEW_POINTS */
  points?: number
  /** Storage changes kept; the oldest are dropped once twice as many are held. @default MAX_LAYER_CHANGES */
  maxLayerChanges?: number
}

/**
 * The live view of an overview the server answered (`runOverview`), ready for `applyToOverview`.
 * @example
 * let view = liveOverview(await client.overview(run))
 * view = applyToOverview(view, record)
 */
export function liveOverview(overview: RunOverview): LiveOverview {
  return {
    ...overview,
    sparsityRows: lineRows(overview.run.layers, overview.steps, overview.sparsity),
    liveSamples: 0,
    layerIndex: new Map(overview.run.layers.map((layer, i) => [layer.name, i])),
  }
}

/**
 * The view with one more record of its run applied, as the RunStore applies it; a record the view already
 * holds (seq ≤ `lastSeq`) leaves it unchanged. Folding a run's later records onto the view of its start
 * gives the view of the whole run (thinned to `points`, with at most twice `maxLayerChanges` changes).
 * @example view = applyToOverview(view, { type: 'end', run, seq: view.lastSeq + 1, step: 900, time, status: 'finished' })
 */
export function applyToOverview(view: LiveOverview, record: WireRecord, options: LiveOverviewOptions = {}): LiveOverview {
  if (record.seq <= view.lastSeq) return view
  const next = { ...view, lastSeq: record.seq }
  switch (record.type) {
    case 'sample': {
      const column = sparsityColumn(record, view.run.layers)
      const grown: LiveOverview = {
        ...next,
        steps: [...view.steps, record.step],
        sparsity: [...view.sparsity, column],
        sparsityRows: [...view.sparsityRows, ...lineRows(view.run.layers, [record.step], [column])],
        scalars: [...view.scalars, ...scalarRows([record])],
        exploration: [...view.exploration, ...explorationAt(record, view.latest, { layers: !modelChurn(view.first ?? record) })],
        costs: [...view.costs.slice(1 - COST_WINDOW), costPoint(record)],
        first: view.first ?? record,
        latest: record,
        liveSamples: view.liveSamples + 1,
      }
      return thin(grown, options.points ?? OVERVIEW_POINTS)
    }
    case 'event':
      return { ...next, events: addEvent(view.events, record), churn: addChurn(view, record, options.points ?? OVERVIEW_POINTS) }
    case 'sampler':
      return { ...next, sampler: [...view.sampler, record] }
    case 'layer':
      return applyLayerChange(next, record, options.maxLayerChanges ?? MAX_LAYER_CHANGES)
    case 'end':
      return { ...next, end: record, status: record.status }
    default:
      return next // a run record: the overview began with it
  }
}

/**
 * The layer's latest description, as layer records left it; undefined for a layer the run never had.
 * @example liveLayerInfo(view, 'fc1')?.dtype // 'bfloat16'
 */
export function liveLayerInfo(view: LiveOverview, name: string): LayerInfo | undefined {
  const index = view.layerIndex.get(name)
  return index === undefined ? undefined : view.run.layers[index]
}

/** The line chart's rows of the matrix rows given; none past the threshold, where a heatmap draws instead. */
function lineRows(layers: readonly LayerInfo[], steps: readonly number[], sparsity: readonly (number | null)[][]): SparsityRow[] {
  if (layers.length > HEATMAP_LAYER_THRESHOLD) return []
  const rows: SparsityRow[] = []
  steps.forEach((step, i) =>
    layers.forEach((layer, j) => {
      const value = sparsity[i]![j]
      if (value !== null && value !== undefined) rows.push({ step, layer: layer.name, sparsity: value })
    }),
  )
  return rows
}

/** Thins the matrix evenly back to `points` samples (the first and newest kept) once it holds twice as many. */
function thin(view: LiveOverview, points: number): LiveOverview {
  if (view.steps.length <= 2 * points) return view
  const kept = decimateSamples(view.steps.map((_, i) => i), points)
  const steps = kept.map((i) => view.steps[i]!)
  const sparsity = kept.map((i) => view.sparsity[i]!)
  const shown = new Set(steps)
  const scalars = view.scalars.filter((row) => shown.has(row.step))
  const exploration = view.exploration.filter((row) => shown.has(row.step))
  return { ...view, steps, sparsity, scalars, exploration, sparsityRows: lineRows(view.run.layers, steps, sparsity) }
}

/** The event's update folded into the churn rows, over the nnz of the latest sample, as runChurn computes it. */
function addChurn(view: LiveOverview, record: EventRecord, points: number) {
  const model = modelChurn(view.first)
  const sample = view.latest
  const nnz = !sample ? undefined : (model ? sample.layers.reduce((n, l) => n + l.nnz, 0) : sample.layers.find((l) => l.name === record.layer)?.nnz)
  const [update] = churnRows([record], () => nnz, model)
  if (!update) return view.churn
  const churn = addToChurn(view.churn, update)
  return new Set(churn.map((row) => row.step)).size > 2 * points ? thinChurn(churn, points) : churn
}

/** Sums the event into its step's row, as `eventsPerStep` does over the whole run. */
function addEvent(events: readonly EventRow[], record: EventRecord): EventRow[] {
  const row = eventsPerStep([record])[0]!
  let index = events.length - 1 // events arrive in step order: their row, if any, is near the end
  while (index >= 0 && !(events[index]!.step === row.step && events[index]!.op === row.op)) index--
  if (index < 0) return [...events, row]
  // a changed row, not an append: the chart redraws it
  const held = events[index]!
  const merged = { ...held, count: held.count + row.count, signed: held.signed + row.signed }
  return events.map((e, i) => (i === index ? merged : e))
}

// As the RunStore applies it: replaced in place, a new layer appended (its matrix column starts now), one that
// left kept listed as untracked.
function applyLayerChange(view: LiveOverview, change: LayerRecord, maxLayerChanges: number): LiveOverview {
  const held = [...view.layerChanges, change]
  const layerChanges = held.length > 2 * maxLayerChanges ? held.slice(-maxLayerChanges) : held
  const index = view.layerIndex.get(change.layer)
  if (change.info === null) {
    const untracked = index !== undefined && !view.untracked.includes(change.layer) ? [...view.untracked, change.layer] : view.untracked
    return { ...view, layerChanges, untracked }
  }
  const untracked = view.untracked.includes(change.layer) ? view.untracked.filter((name) => name !== change.layer) : view.untracked
  if (index !== undefined) {
    const layers = view.run.layers.slice()
    layers[index] = change.info
    return { ...view, layerChanges, untracked, run: { ...view.run, layers } }
  }
  const layers = [...view.run.layers, change.info]
  return {
    ...view,
    layerChanges,
    untracked,
    run: { ...view.run, layers },
    layerIndex: new Map(view.layerIndex).set(change.layer, view.run.layers.length),
    // past the threshold the page draws a heatmap from the matrix: no line rows, as liveOverview would hold
    sparsityRows: layers.length > HEATMAP_LAYER_THRESHOLD ? [] : view.sparsityRows,
  }
}
