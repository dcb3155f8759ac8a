/**
 * Diagnosis: the pathologies of sparse training, flagged from a run's records as they arrive. One evaluator
 * folds records in seq order, so a live page, the server and `sparselab-profiler check` find the same flags
 * for the same records. Each rule is documented with the failure it catches in docs/flags.md.
 */
import { algorithmTarget } from './algorithmTarget.js'
import { histogramQuantile } from './dynamics.js'
import * as v from 'valibot'
import { FlagThresholdsSchema } from './schema.js'
import type { EventRecord, FlagThresholdsInput, Histogram, LayerInfo, LayerSample, MetricRecord, RunRecord, SampleRecord, SamplerRecord, WireRecord } from './schema.js'
import { formatBytes, formatCount, formatPercent } from './totals.js'

export const SEVERITIES = ['info', 'warning', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

export const FLAG_RULES = [
  'sparsity-drift',
  'layer-off-target',
  'dead-layer',
  'non-finite-weights',
  'non-finite-loss',
  'weights-exploding',
  'weights-vanishing',
  'wasted-update',
  'drop-grow-imbalance',
  'churn-not-settling',
  'storage-saves-nothing',
  'padding-waste',
  'interval-widened',
  'weights-split',
  'exploration-stalled',
  'metric-limit',
] as const
export type FlagRule = (typeof FLAG_RULES)[number]

/** One finding: what is wrong, where, since when, the numbers that show it, and what to do. */
export interface Flag {
  rule: FlagRule
  severity: Severity
  /** The layers concerned; empty for a finding about the whole run. */
  layers: string[]
  /** First and last step of the evidence. */
  from: number
  to: number
  message: string
  evidence: Record<string, number>
  fix: string
  /** The plugin metric a `metric-limit` flag is about. */
  metric?: string
}

/** When each rule fires: one number per threshold, declared (and documented) with the run record's schema. */
export type FlagThresholds = Required<FlagThresholdsInput>

/** The thresholds of a run that sets none; docs/flags.md gives each with its rule. */
export const DEFAULT_FLAG_THRESHOLDS: Readonly<FlagThresholds> = {
  drift: 0.05,
  collapse: 0.2,
  offTarget: 0.1,
  offTargetSamples: 3,
  offOthers: 0.5,
  magnitudeFactor: 10,
  magnitudeWindow: 10,
  imbalance: 0.01,
  churnUpdates: 5,
  churnSettled: 0.8,
  intervalFactor: 10,
  deadAbs: 1e-6,
  padding: 0.5,
  stallUpdates: 5,
  stallShare: 0.02,
  splitShare: 0.01,
}

/** Where each rule is explained (what it catches, thresholds, the fix): `${FLAGS_DOC}#${rule}`. */
export const FLAGS_DOC = 'https://github.com/sparselab-profiler/sparselab-profiler/blob/main/docs/flags.md'

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

/** weights-split: samples in a row a separated cluster must show before it is flagged (one can be a passing spike). */
const SPLIT_SAMPLES = 2

/** A number as a message shows it: four significant digits. */
function formatValue(value: number): string {
  return String(Number(value.toPrecision(4)))
}

interface LayerState {
  /** Whether a mask has ever been applied to it (any mask source but inferred zeros). */
  managed: boolean
  /** Became managed after its first sample: its next sample is its new baseline. */
  rebase: boolean
  firstSparsity: number
  /** Last step the layer's sparsity was within `drift` of its first. */
  steady: number
  /** Last step the layer was within `offTarget` of the target, and how many samples since. */
  onTarget: number
  offSamples: number
  /** Without a target: last step the layer was within `offOthers` of the other masked layers, and how many samples since. */
  nearOthers: number
  farSamples: number
  /** Recent 95th percentiles of |w|, oldest first, with their steps. */
  magnitudes: { step: number; value: number }[]
  firstNonFinite: number | null
  deadSince: number | null
  /** Drops and grows of updates since the last sample, by step. */
  updates: Map<number, { drops: number; grows: number }>
  /** Churn of the layer's first `churnUpdates` updates, and of its latest ones: bounded however long the run. */
  firstChurn: number[]
  lastChurn: { step: number; value: number }[]
  churnCount: number
  nnz: number
  /** Connections grown and updates seen so far (from grow events), for exploration-stalled. */
  grown: number
  grownUpdates: number
  /** Samples with active_ever since the storage last changed: what the layer had explored, and grown, by then. */
  explored: { step: number; ever: number; grown: number; updates: number }[]
  /** Consecutive samples whose |w| showed a separated cluster, and the first of them. */
  split: { samples: number; since: number }
  /** Per plugin metric: the first step of the current run of values beyond a limit. */
  beyond: Map<string, number>
}

/**
 * Folds a run's records, in seq order, into its flags.
 * @example
 * const flags = new FlagEvaluator()
 * for (const record of records) flags.apply(record)
 * flags.flags() // [{ rule: 'sparsity-drift', severity: 'critical', layers: ['fc2'], from: 1000, to: 1200, … }]
 */
export class FlagEvaluator {
  readonly #base: FlagThresholds
  #thresholds: FlagThresholds
  #run: RunRecord | null = null
  /** Each plugin metric's limits, from its latest metric record. */
  #limits = new Map<string, MetricRecord>()
  #constant = false
  #target: number | null = null
  #infos = new Map<string, LayerInfo>()
  #layers = new Map<string, LayerState>()
  #found = new Map<string, Flag>()
  #lossFrom: number | null = null

  /** `thresholds` replace the defaults; a run record's own `flag_thresholds` replace these for its run. */
  constructor(thresholds: FlagThresholdsInput = {}) {
    this.#base = this.#thresholds = { ...DEFAULT_FLAG_THRESHOLDS, ...thresholds }
  }

  apply(record: WireRecord): void {
    switch (record.type) {
      case 'run':
        this.#run = record
        this.#thresholds = { ...this.#base, ...record.flag_thresholds }
        // RigL and SET rewire at constant sparsity: drift and imbalance mean something else is changing the mask
        this.#constant = /^(rigl|set)$/i.test(record.algorithm?.name ?? '') || 'drop_fraction' in (record.algorithm?.params ?? {})
        this.#target = algorithmTarget(record.algorithm)
        for (const info of record.layers) this.#infos.set(info.name, info)
        return
      case 'layer': {
        if (!record.info) return
        this.#infos.set(record.layer, record.info)
        const state = this.#layers.get(record.layer)
        // a layer pruned after the start is checked from then on, against where it stands then; one whose
        // mask was removed stays checked (its weights regrowing is what sparsity-drift is for)
        if (state && !state.managed && record.info.mask_source !== 'inferred_zeros') [state.managed, state.rebase] = [true, true]
        if (state) state.explored.length = 0 // active_ever restarts with the new storage
        return
      }
      case 'metric':
        this.#limits.set(record.name, record)
        return
      case 'event':
        return this.#event(record)
      case 'sampler':
        return this.#sampler(record)
      case 'sample':
        return this.#sample(record)
      default:
    }
  }

  /** Every flag found so far: the most severe first, then by step. */
  flags(): Flag[] {
    return [...this.#found.values()].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.from - b.from)
  }

  #raise(flag: Flag): void {
    const key = `${flag.rule}\u0000${flag.metric ?? ''}\u0000${flag.layers.join('\u0000')}`
    const held = this.#found.get(key)
    // a finding that persists keeps its start and takes its newest numbers; its severity only rises
    const severity = held && SEVERITY_ORDER[held.severity] < SEVERITY_ORDER[flag.severity] ? held.severity : flag.severity
    this.#found.set(key, held ? { ...flag, severity, from: Math.min(held.from, flag.from) } : flag)
  }

  #layer(sample: LayerSample, step: number): LayerState {
    let state = this.#layers.get(sample.name)
    if (!state) {
      const info = this.#infos.get(sample.name)
      state = {
        managed: info !== undefined && info.mask_source !== 'inferred_zeros',
        rebase: false,
        firstSparsity: sample.sparsity,
        steady: step,
        onTarget: step,
        offSamples: 0,
        nearOthers: step,
        farSamples: 0,
        magnitudes: [],
        firstNonFinite: null,
        deadSince: null,
        updates: new Map(),
        firstChurn: [],
        lastChurn: [],
        churnCount: 0,
        nnz: sample.nnz,
        grown: 0,
        grownUpdates: 0,
        explored: [],
        split: { samples: 0, since: step },
        beyond: new Map(),
      }
      this.#layers.set(sample.name, state)
    }
    return state
  }

  #event(event: EventRecord): void {
    const state = this.#layers.get(event.layer)
    if (!state) return
    // wasted-update: an update that asked to drop and dropped nothing changed nothing (all candidates tied, or none left)
    if (event.op === 'drop' && event.requested !== null && event.requested > 0 && event.count === 0)
      this.#raise({
        rule: 'wasted-update',
        severity: 'warning',
        layers: [event.layer],
        from: event.step,
        to: event.step,
        message: `${event.algorithm} asked to drop ${formatCount(event.requested)} connections of ${event.layer} at step ${formatCount(event.step)} and dropped none`,
        evidence: { requested: event.requested, dropped: 0 },
        fix: `The update changed nothing: ${event.algorithm}'s drop criterion found no connection to drop (all candidates tied, or the layer has none left to drop). Check drop_fraction and update_freq, and that the layer still has active weights.`,
      })
    if (event.op === 'grow' && event.count > 0) {
      if (!state.updates.get(event.step)?.grows) state.grownUpdates++
      state.grown += event.count
    }
    const update = state.updates.get(event.step) ?? { drops: 0, grows: 0 }
    if (event.op === 'drop') update.drops += event.count
    else update.grows += event.count
    state.updates.set(event.step, update)
  }

  /** interval-widened: the sampler widened its interval to stay in budget, so far that the history is much coarser than asked for. */
  #sampler(change: SamplerRecord): void {
    const requested = this.#run?.sampler.every ?? 1
    if (change.every < this.#thresholds.intervalFactor * requested) return
    this.#raise({
      rule: 'interval-widened',
      severity: 'info',
      layers: [],
      from: change.step,
      to: change.step,
      message: `Sampling every ${formatCount(change.every)} steps since step ${formatCount(change.step)}, ${Math.round(change.every / requested)}× the requested ${formatCount(requested)}: a sample cost ${formatPercent(change.overhead)} of training`,
      evidence: { every: change.every, requested, overhead: change.overhead },
      fix: 'The profiler widened its interval to stay within overhead_budget. For finer history, raise overhead_budget, profile fewer layers (layer_regex / exclude_regex) or use fewer histogram bins.',
    })
  }

  #sample(sample: SampleRecord): void {
    const t = this.#thresholds
    // non-finite-loss: training diverged, seen in the loss before (or without) non-finite weights
    if (sample.scalars?.loss === null) {
      this.#lossFrom ??= sample.step
      this.#raise({
        rule: 'non-finite-loss',
        severity: 'critical',
        layers: [],
        from: this.#lossFrom,
        to: sample.step,
        message: `The loss was NaN or infinite in the steps up to ${formatCount(sample.step)} (first at the sample of step ${formatCount(this.#lossFrom)})`,
        evidence: {},
        fix: 'Training diverged: lower the learning rate, clip gradients (torch.nn.utils.clip_grad_norm_), and with mixed precision use a GradScaler.',
      })
    }
    for (const layer of sample.layers) {
      const state = this.#layer(layer, sample.step)
      if (state.rebase)
        Object.assign(state, { rebase: false, firstSparsity: layer.sparsity, steady: sample.step, onTarget: sample.step, offSamples: 0, nearOthers: sample.step, farSamples: 0 })
      this.#churnOf(layer, state)
      this.#drift(layer, state, sample.step)
      this.#offTarget(layer, state, sample.step)
      this.#health(layer, state, sample.step)
      this.#magnitude(layer, state, sample.step)
      this.#storage(layer, sample.step)
      this.#split(layer, state, sample.step)
      this.#exploration(layer, state, sample.step)
      this.#metricLimits(layer, state, sample.step)
      state.nnz = layer.nnz
    }
    if (this.#target === null) this.#offOthers(sample)
    if (t.churnUpdates > 0) for (const [name, state] of this.#layers) this.#settling(name, state)
  }

  /** Folds the updates since the last sample into churn; drop-grow-imbalance: under RigL/SET, an update whose drops and grows differ (too few grow candidates, or another hook changing the mask). */
  #churnOf(layer: LayerSample, state: LayerState): void {
    for (const [at, { drops, grows }] of state.updates) {
      if (state.nnz > 0) {
        const value = Math.max(drops, grows) / state.nnz
        state.churnCount++
        if (state.firstChurn.length < this.#thresholds.churnUpdates) state.firstChurn.push(value)
        state.lastChurn.push({ step: at, value })
        if (state.lastChurn.length > this.#thresholds.churnUpdates) state.lastChurn.shift()
      }
      const larger = Math.max(drops, grows)
      if (this.#constant && larger > 0 && Math.abs(drops - grows) / larger > this.#thresholds.imbalance)
        this.#raise({
          rule: 'drop-grow-imbalance',
          severity: 'warning',
          layers: [layer.name],
          from: at,
          to: at,
          message: `${layer.name} dropped ${formatCount(drops)} and grew ${formatCount(grows)} connections at step ${formatCount(at)}`,
          evidence: { drops, grows },
          fix: 'RigL and SET regrow as many connections as they drop. An imbalance means the grow step found too few candidates (the layer is nearly dense or its gradients are zero) or another hook changed the mask in between.',
        })
    }
    state.updates.clear()
  }

  /** sparsity-drift: a managed layer's sparsity moving under RigL/SET, which hold it constant: masked weights regrown outside the algorithm (momentum, weight decay). */
  #drift(layer: LayerSample, state: LayerState, step: number): void {
    if (!this.#constant || !state.managed) return
    const moved = layer.sparsity - state.firstSparsity
    if (Math.abs(moved) < this.#thresholds.drift) {
      state.steady = step
      return
    }
    const algorithm = this.#run?.algorithm?.name ?? 'the algorithm'
    this.#raise({
      rule: 'sparsity-drift',
      severity: Math.abs(moved) >= this.#thresholds.collapse ? 'critical' : 'warning',
      layers: [layer.name],
      from: state.steady,
      to: step,
      message: `${layer.name} sparsity ${moved < 0 ? 'fell' : 'rose'} from ${formatPercent(state.firstSparsity)} to ${formatPercent(layer.sparsity)} between steps ${formatCount(state.steady)} and ${formatCount(step)}`,
      evidence: { first: state.firstSparsity, now: layer.sparsity },
      fix: `${algorithm} keeps sparsity constant, so something else changes the mask: most often the optimizer's momentum or weight decay moving masked weights away from zero. Re-apply the mask after optimizer.step() (or let ${algorithm} own the optimizer step), and zero the optimizer state of dropped weights.`,
    })
  }

  /** layer-off-target: a managed layer staying far from the algorithm's target: the algorithm does not reach it, or a schedule has not ended. */
  #offTarget(layer: LayerSample, state: LayerState, step: number): void {
    const target = this.#target
    if (target === null || !state.managed) return
    if (Math.abs(layer.sparsity - target) <= this.#thresholds.offTarget) {
      state.onTarget = step
      state.offSamples = 0
      return
    }
    if (++state.offSamples < this.#thresholds.offTargetSamples) return
    this.#raise({
      rule: 'layer-off-target',
      severity: 'warning',
      layers: [layer.name],
      from: state.onTarget,
      to: step,
      message: `${layer.name} is at ${formatPercent(layer.sparsity)} sparsity, far from the ${formatPercent(target)} target, since step ${formatCount(state.onTarget)}`,
      evidence: { sparsity: layer.sparsity, target },
      fix: "The algorithm's sparsity parameter does not reach this layer: check that the layer is one the algorithm manages (a SparseLinear, or listed in its layers) and, for a schedule, that it has reached its end.",
    })
  }

  /**
   * layer-off-target without a target (torch prune, parametrizations): a masked layer far from the other masked
   * layers of the sample taken together, where pruning missed it or a per-layer amount is wrong. Only info: first
   * and last layers are often kept denser on purpose, and ERK or global pruning make uneven layers by design.
   */
  #offOthers(sample: SampleRecord): void {
    const managed = sample.layers.filter((layer) => this.#layers.get(layer.name)!.managed)
    // of two layers apart neither is the odd one
    if (managed.length < 3) return
    const nnz = managed.reduce((sum, layer) => sum + layer.nnz, 0)
    const numel = managed.reduce((sum, layer) => sum + layer.numel, 0)
    for (const layer of managed) {
      const state = this.#layers.get(layer.name)!
      const rest = numel - layer.numel
      if (rest <= 0) continue
      const others = 1 - (nnz - layer.nnz) / rest
      if (Math.abs(layer.sparsity - others) <= this.#thresholds.offOthers) {
        state.nearOthers = sample.step
        state.farSamples = 0
        continue
      }
      if (++state.farSamples < this.#thresholds.offTargetSamples) continue
      this.#raise({
        rule: 'layer-off-target',
        severity: 'info',
        layers: [layer.name],
        from: state.nearOthers,
        to: sample.step,
        message: `${layer.name} is at ${formatPercent(layer.sparsity)} sparsity, far from the ${formatPercent(others)} of the other masked layers together, since step ${formatCount(state.nearOthers)}`,
        evidence: { sparsity: layer.sparsity, others },
        fix: 'If this layer is kept denser or sparser on purpose (often the first and last layers; ERK and global pruning spread sparsity unevenly by design), nothing is wrong. Otherwise the pruning does not reach it as meant: check that it is among the parameters pruned, and its amount.',
      })
    }
  }

  /** non-finite-weights: NaN or ±Inf weights, training diverged in this layer; dead-layer: no active weights, or all ≈ 0, so it passes nothing forward. */
  #health(layer: LayerSample, state: LayerState, step: number): void {
    if (layer.nonfinite > 0) {
      state.firstNonFinite ??= step
      this.#raise({
        rule: 'non-finite-weights',
        severity: 'critical',
        layers: [layer.name],
        from: state.firstNonFinite,
        to: step,
        message: `${layer.name} holds ${formatCount(layer.nonfinite)} NaN or infinite weights at step ${formatCount(step)}`,
        evidence: { nonfinite: layer.nonfinite },
        fix: 'Training diverged in this layer: lower the learning rate, clip gradients, and with mixed precision use a GradScaler; a sparse layer with few active weights can need a smaller learning rate than the dense ones.',
      })
    }
    // all active weights ≈ 0 (absmax, from profilers that send it) is as dead as none; all NaN is non-finite-weights'
    const zeros = layer.absmax !== undefined && layer.absmax <= this.#thresholds.deadAbs && layer.nonfinite < layer.nnz
    if (layer.nnz > 0 && !zeros) {
      state.deadSince = null
      return
    }
    state.deadSince ??= step
    this.#raise({
      rule: 'dead-layer',
      severity: 'critical',
      layers: [layer.name],
      from: state.deadSince,
      to: step,
      message:
        layer.nnz === 0
          ? `${layer.name} has no active weights since step ${formatCount(state.deadSince)}: it passes nothing forward`
          : `All ${formatCount(layer.nnz)} active weights of ${layer.name} are within ±${this.#thresholds.deadAbs} since step ${formatCount(state.deadSince)}: it passes almost nothing forward`,
      evidence: layer.nnz === 0 ? { nnz: 0 } : { nnz: layer.nnz, absmax: layer.absmax! },
      fix: "Lower this layer's sparsity (keep at least a few weights per output), check that pruning does not remove whole layers, and look for a learning rate or weight decay that drives its weights to zero.",
    })
  }

  /** weights-exploding / weights-vanishing: the size of |w| moving tenfold within a few samples: a step too large for the few weights a sparse layer updates, or weight decay (or no gradient) shrinking them away. */
  #magnitude(layer: LayerSample, state: LayerState, step: number): void {
    if (layer.nnz === 0) return
    const value = Math.max(Math.abs(histogramQuantile(layer.hist, 0.05)), Math.abs(histogramQuantile(layer.hist, 0.95)))
    if (!Number.isFinite(value) || value <= 0) return
    const window = state.magnitudes
    // a different set of weights (pruned, regrown, a mask removed) is not a change of size: start over
    if (Math.abs(layer.nnz - state.nnz) > 0.1 * Math.max(1, state.nnz)) window.length = 0
    window.push({ step, value })
    if (window.length > this.#thresholds.magnitudeWindow) window.shift()
    const smallest = window.reduce((a, b) => (b.value < a.value ? b : a))
    const largest = window.reduce((a, b) => (b.value > a.value ? b : a))
    const factor = this.#thresholds.magnitudeFactor
    const growing = value / smallest.value >= factor
    const shrinking = largest.value / value >= factor
    if (!growing && !shrinking) return
    const from = growing ? smallest : largest
    this.#raise({
      rule: growing ? 'weights-exploding' : 'weights-vanishing',
      severity: 'warning',
      layers: [layer.name],
      from: from.step,
      to: step,
      message: `The 95th percentile of |w| in ${layer.name} went from ${from.value.toPrecision(3)} to ${value.toPrecision(3)} between steps ${formatCount(from.step)} and ${formatCount(step)}`,
      evidence: { before: from.value, now: value },
      fix: growing
        ? 'Weights grow out of bounds: lower the learning rate or clip gradients; sparse layers concentrate the update on few weights.'
        : 'Weights shrink toward zero: weight decay may be too strong for a sparse layer, or the layer receives no gradient (check that its mask is not all but empty).',
    })
  }

  /** padding-waste: Padded-CSR slots mostly empty, each costing as much as a live one; storage-saves-nothing: a sparse format at least as large as dense. */
  #storage(layer: LayerSample, step: number): void {
    const padding = layer.capacity ? (layer.capacity - layer.nnz) / layer.capacity : 0
    if (padding > this.#thresholds.padding)
      this.#raise({
        rule: 'padding-waste',
        severity: 'warning',
        layers: [layer.name],
        from: step,
        to: step,
        message: `${formatPercent(padding)} of ${layer.name}'s ${formatCount(layer.capacity!)} Padded-CSR slots hold no connection at step ${formatCount(step)} (${formatCount(layer.nnz)} active)`,
        evidence: { capacity: layer.capacity!, nnz: layer.nnz, padding },
        fix: 'Each padded slot costs a value and an index like a live one. Rows were allocated for more connections than they keep (a lower sparsity at construction, or regrowth that left rows short): rebuild the layer at its current sparsity, or lower its padding headroom.',
      })
    const info = this.#infos.get(layer.name)
    if (!info || info.format === 'dense' || info.format === 'dense_masked' || layer.bytes < layer.dense_bytes) return
    this.#raise({
      rule: 'storage-saves-nothing',
      severity: 'warning',
      layers: [layer.name],
      from: step,
      to: step,
      message: `${layer.name} stores ${formatBytes(layer.bytes)} in ${info.format} at ${formatPercent(layer.sparsity)} sparsity, ${formatBytes(layer.bytes - layer.dense_bytes)} more than dense`,
      evidence: { bytes: layer.bytes, dense_bytes: layer.dense_bytes, sparsity: layer.sparsity },
      fix: `At this sparsity the ${info.format} indices cost more than the zeros they save: keep the layer dense, or raise its sparsity.`,
    })
  }

  /** weights-split: a second mode of large |w| in two samples in a row, the signature of a few weights running away (unstable updates). */
  #split(layer: LayerSample, state: LayerState, step: number): void {
    const cluster = separatedCluster(layer.hist)
    if (!cluster || cluster.share < this.#thresholds.splitShare) {
      state.split.samples = 0
      return
    }
    if (state.split.samples++ === 0) state.split.since = step
    if (state.split.samples < SPLIT_SAMPLES) return
    this.#raise({
      rule: 'weights-split',
      severity: 'warning',
      layers: [layer.name],
      from: state.split.since,
      to: step,
      message: `${layer.name}'s active weights are bimodal: ${formatPercent(cluster.share)} of them (${formatCount(cluster.count)}) form a second mode at |w| ≥ ${cluster.from.toPrecision(3)}, past a dip at ${cluster.dip.toPrecision(3)} above the bulk, since step ${formatCount(state.split.since)}`,
      evidence: { share: cluster.share, count: cluster.count, from: cluster.from, dip: cluster.dip },
      fix: 'A second mode of large weights is the signature of unstable updates: a few weights run away from the rest. Clip gradients (torch.nn.utils.clip_grad_norm_) or lower the learning rate; with RigL or SET, check that regrown weights start at zero with their optimizer state reset.',
    })
  }

  /** exploration-stalled: updates that still regrow, but only positions the layer already tried, so its in-time over-parameterization is flat. */
  #exploration(layer: LayerSample, state: LayerState, step: number): void {
    if (layer.active_ever === undefined) return
    const trail = state.explored
    const now = { step, ever: layer.active_ever, grown: state.grown, updates: state.grownUpdates }
    // of samples with equal update counts only the latest can be a window's start
    if (trail.length > 1 && trail.at(-1)!.updates === now.updates) trail.pop()
    trail.push(now)
    const n = this.#thresholds.stallUpdates
    while (trail.length > 2 && trail[1]!.updates <= now.updates - n) trail.shift()
    const start = trail[0]!
    if (now.updates - start.updates < n) return
    const grown = now.grown - start.grown
    const fresh = now.ever - start.ever
    if (grown <= 0 || fresh >= this.#thresholds.stallShare * grown) return
    const itop = now.ever / layer.numel
    const algorithm = this.#run?.algorithm?.name ?? 'The algorithm'
    this.#raise({
      rule: 'exploration-stalled',
      severity: 'info',
      layers: [layer.name],
      from: start.step,
      to: step,
      message: `${layer.name} stopped exploring: its last ${now.updates - start.updates} updates grew ${formatCount(grown)} connections, of which ${formatCount(fresh)} (${formatPercent(fresh / grown)}) had never been active; ${formatPercent(itop)} of its weights have been active so far`,
      evidence: { grown, fresh, itop },
      fix: `${algorithm} keeps regrowing positions the layer already tried, so its in-time over-parameterization rate is flat; Liu et al. (ICML 2021) relate a higher rate to better accuracy at the same sparsity. Explore more: a larger drop_fraction or a smaller update_freq, a later T_end for RigL, or random growth (SET) for part of training.`,
    })
  }

  /** metric-limit: a plugin metric past the warn_above / warn_below its author set in the training script. */
  #metricLimits(layer: LayerSample, state: LayerState, step: number): void {
    if (!layer.metrics || this.#limits.size === 0) return
    for (const [metric, value] of Object.entries(layer.metrics) as [string, number | null][]) {
      const limit = this.#limits.get(metric)
      if (!limit || value === null) continue
      const above = limit.warn_above !== null && value > limit.warn_above
      if (!above && !(limit.warn_below !== null && value < limit.warn_below)) {
        state.beyond.delete(metric)
        continue
      }
      const since = state.beyond.get(metric) ?? step
      state.beyond.set(metric, since)
      const [side, bound] = above ? (['above', limit.warn_above!] as const) : (['below', limit.warn_below!] as const)
      this.#raise({
        rule: 'metric-limit',
        severity: 'warning',
        metric,
        layers: [layer.name],
        from: since,
        to: step,
        message: `${metric} of ${layer.name} is ${formatValue(value)} at step ${formatCount(step)}, ${side} its warn_${side} of ${formatValue(bound)}${since < step ? ` since step ${formatCount(since)}` : ''}`,
        evidence: { value, limit: bound },
        fix: `A limit set with profiler.metric("${metric}", warn_${side}=…) in the training script: look at what the metric measures in this layer. Registering the metric again changes or clears its limits.`,
      })
    }
  }

  /** churn-not-settling: the last updates rewiring as much as the first, so the topology does not converge (a schedule ending past the run, or none). */
  #settling(name: string, state: LayerState): void {
    const n = this.#thresholds.churnUpdates
    // the first and the last updates compared must not overlap: wait for twice as many
    if (state.churnCount < 2 * n) return
    const early = state.firstChurn.reduce((a, b) => a + b, 0) / n
    const late = state.lastChurn.reduce((a, b) => a + b.value, 0) / n
    if (early === 0 || late < this.#thresholds.churnSettled * early) return
    this.#raise({
      rule: 'churn-not-settling',
      severity: 'info',
      layers: [name],
      from: state.lastChurn[0]!.step,
      to: state.lastChurn.at(-1)!.step,
      message: `${name} still rewires ${formatPercent(late)} of its connections per update (its last ${n} updates), against ${formatPercent(early)} in its first ${n}`,
      evidence: { early, late },
      fix: "The topology is not converging: RigL decays drop_fraction over training (cosine, until T_end); check that the schedule's end is not past the run's, or lower drop_fraction.",
    })
  }
}

/** A cluster of large weights separated from the bulk of a layer's |w| (see `separatedCluster`). */
export interface WeightCluster {
  /** Its share of the histogram's weights, and how many (every weight above the dip). */
  share: number
  count: number
  /** |w| at the bottom of the dip that separates it from the bulk, and where it begins. */
  dip: number
  from: number
}

/** Weights a histogram must hold before a dip in it means anything (fewer make modes of sampling noise). */
const MIN_CLUSTER_WEIGHTS = 1000
/** How many times the dip's count a bin above it must hold to be a second mode … */
const MODE_OVER_DIP = 4
/** … and the least share of all weights it must hold, so sampling noise in a thin tail is no mode. */
const MODE_SHARE = 0.005

/**
 * A second mode of large weights: the histogram folded to |w| in a quarter as many bins (16 of the usual 64:
 * coarse enough that noise makes no mode), then, going up from the bin of the median |w|, the lowest bin so
 * far is the dip, and a later bin holding `MODE_OVER_DIP` times as many weights (and 0.5% of all) is a second mode; the cluster is everything above the dip. Only above the
 * median, so a bulk of small young weights under mature ones (RigL grows at zero; magnitude pruning leaves a
 * gap at small |w|) is no split, and a tail that only thins out never is one. Null when there is none.
 * @example separatedCluster({ lo: -4, hi: 4, counts: [10, 0, 0, 0, 0, 0, 0, 900, 90, 0, 0, 0, 0, 0, 0, 0] })?.share // 0.01
 */
export function separatedCluster(hist: Histogram): WeightCluster | null {
  const top = Math.max(Math.abs(hist.lo), Math.abs(hist.hi))
  const bins = Math.max(8, Math.ceil(hist.counts.length / 4))
  const width = (hist.hi - hist.lo) / hist.counts.length
  const folded = new Array<number>(bins).fill(0)
  let total = 0
  hist.counts.forEach((count, i) => {
    folded[Math.min(bins - 1, Math.floor((Math.abs(hist.lo + (i + 0.5) * width) / top) * bins))]! += count
    total += count
  })
  if (total < MIN_CLUSTER_WEIGHTS) return null
  let dip = 0
  for (let seen = folded[0]!; seen < total / 2; seen += folded[dip]!) dip++ // the median's bin
  for (let bin = dip + 1; bin < bins; bin++) {
    if (folded[bin]! < folded[dip]!) dip = bin
    else if (folded[bin]! >= MODE_OVER_DIP * folded[dip]! && folded[bin]! > MODE_SHARE * total) {
      const count = folded.slice(dip + 1).reduce((a, b) => a + b, 0)
      return { share: count / total, count, dip: ((dip + 0.5) / bins) * top, from: ((dip + 1) / bins) * top }
    }
  }
  return null
}

/**
 * Thresholds from `name=value` pairs (a command line's), checked as a run record's are; throws naming the
 * pair that is wrong.
 * @example parseFlagThresholds(['drift=0.1', 'offTargetSamples=5']) // { drift: 0.1, offTargetSamples: 5 }
 */
export function parseFlagThresholds(pairs: readonly string[]): FlagThresholdsInput {
  const thresholds: Record<string, number> = {}
  for (const pair of pairs) {
    const [name = '', value = ''] = pair.split('=', 2)
    if (!Object.hasOwn(DEFAULT_FLAG_THRESHOLDS, name))
      throw new Error(`flag threshold ${JSON.stringify(pair)}: expected name=value with a name of ${Object.keys(DEFAULT_FLAG_THRESHOLDS).join(', ')} (docs/flags.md)`)
    thresholds[name] = value.trim() === '' ? NaN : Number(value)
    const checked = v.safeParse(FlagThresholdsSchema, thresholds)
    if (!checked.success) throw new Error(`flag threshold ${JSON.stringify(pair)}: ${checked.issues[0].message}`)
  }
  return thresholds
}

/**
 * The flags of a whole run log.
 * @example evaluateFlags(parseNdjson(text).records).filter((f) => f.severity === 'critical')
 */
export function evaluateFlags(records: Iterable<WireRecord>, thresholds: FlagThresholdsInput = {}): Flag[] {
  const evaluator = new FlagEvaluator(thresholds)
  for (const record of records) evaluator.apply(record)
  return evaluator.flags()
}
