import { HEATMAP_LAYER_THRESHOLD, eventRows, eventsPerStep, scalarRows, type EventRow, type ScalarRow } from './chartSpecs.js'
import { churnRows, explorationAt, type ChurnRow, type ExplorationRow } from './dynamics.js'
import { COST_WINDOW, type CostPoint } from './profilerCost.js'
import type { RunSnapshot, RunStatus } from './RunStore.js'
import type { EndRecord, EventRecord, LayerRecord, LayerSample, RunRecord, SampleRecord, SamplerRecord } from './schema.js'
import type { Thinning } from './SampleHistory.js'
import { lastAtOrBefore } from './lastAtOrBefore.js'

/** At most `max` samples: the first, the last and evenly spaced ones between. */
export function decimateSamples<T>(samples: readonly T[], max: number): T[] {
  if (samples.length <= max) return [...samples]
  return Array.from({ length: max }, (_, i) => samples[Math.round((i * (samples.length - 1)) / (max - 1))]!)
}

/** Sparsity to 6 decimals: finer than any chart shows, and a third of the JSON. */
const roundSparsity = (value: number) => Math.round(value * 1e6) / 1e6

/**
 * A run as the dashboard's main view needs it, in a size that does not grow with steps or bins: the
 * per-layer sparsity over at most `points` samples as a matrix, the first and the latest sample in full,
 * and drop/grow totals per step.
 */
export interface RunOverview {
  /** With `layers` as they are now (see RunSnapshot.run). */
  run: RunRecord
  status: RunStatus
  lastSeq: number
  sampler: SamplerRecord[]
  /** Storage changes held, oldest first (see RunSnapshot.layerChanges). */
  layerChanges: LayerRecord[]
  /** Layers no longer profiled, still listed in `run.layers`. */
  untracked: string[]
  end: EndRecord | null
  thinning: Thinning | null
  /** Steps of the matrix rows, oldest first: evenly chosen, the first and the newest always included. */
  steps: number[]
  /** `sparsity[i][j]`: layer `run.layers[j]` at `steps[i]` (null if that sample lacks the layer). */
  sparsity: (number | null)[][]
  first: SampleRecord | null
  latest: SampleRecord | null
  /** Drops and grows summed per step over the events held. */
  events: EventRow[]
  /** Topology churn per update: of each layer, or of the whole model past HEATMAP_LAYER_THRESHOLD layers (see modelChurn). */
  churn: ChurnRow[]
  /**
   * Exploration (ITOP and mask distance) at the matrix's steps, each sample's over the sample before it: of
   * each layer and the whole model, or of the whole model only past HEATMAP_LAYER_THRESHOLD layers (see modelChurn).
   */
  exploration: ExplorationRow[]
  /** Training scalars (the loss) of the matrix's samples. */
  scalars: ScalarRow[]
  /** The profiler's cost of the last COST_WINDOW samples, for its rolling overhead. */
  costs: CostPoint[]
}

/**
 * Whether an overview sums its churn over the whole model: past HEATMAP_LAYER_THRESHOLD layers in the run's
 * first sample (which never changes, so a live view and the server decide alike however layers come and go).
 */
export const modelChurn = (first: SampleRecord | null | undefined) => (first?.layers.length ?? 0) > HEATMAP_LAYER_THRESHOLD

/** A sample's cost figures alone. */
export const costPoint = ({ step, cost_ms, step_ms }: SampleRecord): CostPoint => ({ step, cost_ms, step_ms })

/**
 * Churn of the events held, each update over the nnz of the latest sample that came before its first event
 * (by seq): what a live page computes as records arrive. An update before any sample is left out.
 */
export function runChurn(samples: readonly SampleRecord[], events: readonly EventRecord[], model: boolean): ChurnRow[] {
  // seqs are whole numbers: the last sample before `seq` is the last at or before `seq - 1`
  const before = (seq: number) => samples[lastAtOrBefore(samples, seq - 1, (sample) => sample.seq)]
  return churnRows(events, (e) => {
    const sample = before(e.seq)
    return sample && (model ? sample.layers.reduce((n, l) => n + l.nnz, 0) : sample.layers.find((l) => l.name === e.layer)?.nnz)
  }, model)
}

/**
 * Exploration rows of `shown` samples of a run (indices into `samples`, rising), each over the sample held
 * before it: of the whole model only with `model`. Costs the shown samples, not the whole run.
 */
export function runExploration(samples: readonly SampleRecord[], shown: readonly number[], model: boolean): ExplorationRow[] {
  return shown.flatMap((i) => explorationAt(samples[i]!, samples[i - 1], { layers: !model }))
}

/** One matrix row: each layer's sparsity in `layers` order. */
export function sparsityColumn(sample: SampleRecord, layers: readonly { name: string }[]): (number | null)[] {
  const byName = new Map(sample.layers.map((l) => [l.name, l.sparsity]))
  return layers.map((l) => {
    const value = byName.get(l.name)
    return value === undefined ? null : roundSparsity(value)
  })
}

/** @example runOverview(store.snapshot(run)!, 300).sparsity.length // ≤ 300 */
export function runOverview(snapshot: RunSnapshot, points: number): RunOverview {
  const shownAt = decimateSamples(snapshot.samples.map((_, i) => i), points)
  const shown = shownAt.map((i) => snapshot.samples[i]!)
  const model = modelChurn(snapshot.samples[0])
  return {
    run: snapshot.run,
    status: snapshot.status,
    lastSeq: snapshot.lastSeq,
    sampler: snapshot.sampler,
    layerChanges: snapshot.layerChanges,
    untracked: snapshot.untracked,
    end: snapshot.end,
    thinning: snapshot.thinning,
    steps: shown.map((s) => s.step),
    sparsity: shown.map((s) => sparsityColumn(s, snapshot.run.layers)),
    first: snapshot.samples[0] ?? null,
    latest: snapshot.samples.at(-1) ?? null,
    events: eventsPerStep(snapshot.events),
    churn: thinChurn(runChurn(snapshot.samples, snapshot.events, model), points),
    exploration: runExploration(snapshot.samples, shownAt, model),
    scalars: scalarRows(shown),
    costs: snapshot.samples.slice(-COST_WINDOW).map(costPoint),
  }
}

/** At most `points` update steps of churn rows: the first, the newest and evenly spaced ones between. */
export function thinChurn(rows: ChurnRow[], points: number): ChurnRow[] {
  const steps = [...new Set(rows.map((r) => r.step))]
  if (steps.length <= points) return rows
  const kept = new Set(decimateSamples(steps, points))
  return rows.filter((r) => kept.has(r.step))
}

/** One layer at one sample. */
export interface LayerPoint extends LayerSample {
  step: number
}

/** One layer's history for the inspector: its numbers and histogram at up to `points` samples, its events. */
export interface LayerHistory {
  layer: string
  points: LayerPoint[]
  events: EventRow[]
  /** The run's last seq this history includes: live records after it continue it. */
  lastSeq: number
}

/** The layer's own entry in `sample`, with the sample's step. */
export function layerPoint(sample: SampleRecord, layer: string): LayerPoint | undefined {
  const found = sample.layers.find((l) => l.name === layer)
  return found && { ...found, step: sample.step }
}

/** Undefined when the run has no such layer. @example layerHistory(snapshot, 'fc1', 500)?.points.at(-1)?.nnz */
export function layerHistory(snapshot: RunSnapshot, layer: string, points: number): LayerHistory | undefined {
  if (!snapshot.run.layers.some((l) => l.name === layer)) return undefined
  const held = snapshot.samples.flatMap((s) => layerPoint(s, layer) ?? [])
  return { layer, points: decimateSamples(held, points), events: eventRows(snapshot.events, layer), lastSeq: snapshot.lastSeq }
}
