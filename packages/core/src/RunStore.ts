import { BoundedQueue } from './BoundedQueue.js'
import { FlagEvaluator, type Flag } from './flags.js'
import { eventBytes, layerChangeBytes } from './recordBytes.js'
import { SampleHistory, type Thinning } from './SampleHistory.js'
import type { EndRecord, EventRecord, FlagThresholdsInput, LayerInfo, LayerRecord, MetricRecord, RunRecord, SampleRecord, SamplerRecord, WireRecord } from './schema.js'

/** Metrics whose limits a run's snapshot keeps (a run declares at most 16 at a time; names may change). */
const MAX_METRIC_RECORDS = 64

export interface RunStoreOptions {
  /**
   * Estimated memory for one run's samples: half keeps the newest at full resolution, half a thinned
   * history of the older ones (see SampleHistory). @default 64 MiB
   */
  maxSampleBytesPerRun?: number
  /** Topology events kept per run; older ones are evicted. @default 20000 */
  maxEventsPerRun?: number
  /** Estimated memory for one run's events (their per-row counts can be large). @default 16 MiB */
  maxEventBytesPerRun?: number
  /**
   * Layer records (storage changes) kept per run; older ones are evicted, though every one is applied to
   * the run's layers. They are rare, but moving a large model to another device changes every layer. @default 10000
   */
  maxLayerChangesPerRun?: number
  /** Estimated memory for one run's layer records (their aliases can be many). @default 16 MiB */
  maxLayerChangeBytesPerRun?: number
  /** A run without an end record that sent nothing (not even a heartbeat) for this long is shown as interrupted. @default 30000 */
  staleAfterMs?: number
  /** Flag thresholds over the defaults for every run; a run record's own `flag_thresholds` win. @default {} */
  flagThresholds?: FlagThresholdsInput
  /** Clock in milliseconds, injectable for tests. @default Date.now */
  now?: () => number
  /**
   * Called with each record `ingest` accepts, before it is stored or acknowledged (a journal writes it
   * to disk here). If it throws, that record and the rest of the batch are not stored and `ingest`
   * rethrows; the sender resends them from the last ack. `restore` does not call it.
   */
  persist?: (record: WireRecord) => void
}

/** Everything the store holds about one run, oldest first. */
export interface RunSnapshot {
  /** The run record with `layers` as they are now: every layer record applied (see `untracked`). */
  run: RunRecord
  /** Oldest first: a thinned history of the older samples, then every recent one (see `thinning`). */
  samples: SampleRecord[]
  /** Set once older samples were thinned to fit the store's memory budget. */
  thinning: Thinning | null
  events: EventRecord[]
  /** Every sampling-interval change, oldest first. */
  sampler: SamplerRecord[]
  /** Layer records (a layer's storage changed, or it left or joined the model), oldest first; the oldest may be evicted. */
  layerChanges: LayerRecord[]
  /** The latest metric record (a plugin metric's limits) of each metric, in seq order. */
  metrics: MetricRecord[]
  /**
   * Layers no longer profiled (their latest layer record had `info: null`), in the order they stopped. They
   * stay in `run.layers` with their last description so their history stays viewable.
   */
  untracked: string[]
  end: EndRecord | null
  /** Highest seq stored; every seq up to it was received exactly once. */
  lastSeq: number
  status: RunStatus
  /** What the run's records show is wrong, from every record received (see FlagEvaluator). */
  flags: Flag[]
}

export interface RunSummary {
  run: string
  name: string
  started: number
  lastStep: number
  lastSeq: number
  status: RunStatus
}

/** `interrupted` without an end record means the training process went silent (killed, or its host lost). */
export type RunStatus = EndRecord['status'] | 'live'

/** Per-run highest contiguous seq after an ingest; -1 means the run is unknown (send its `run` record first). */
export type Acks = Record<string, number>

interface RunState {
  run: RunRecord
  /** The run's layers with every layer record applied, and each one's index; null until the first record (`run.layers` is current). */
  layers: { list: LayerInfo[]; index: Map<string, number> } | null
  untracked: Set<string>
  samples: SampleHistory
  events: BoundedQueue<EventRecord>
  layerChanges: BoundedQueue<LayerRecord>
  sampler: SamplerRecord[]
  /** Latest metric record by name; at most MAX_METRIC_RECORDS names. */
  metrics: Map<string, MetricRecord>
  end: EndRecord | null
  lastSeq: number
  /** Highest event or layer-record seq evicted; replay from before it (or the samples' evictedSeq) would have a gap. */
  evictedSeq: number
  /** When the run last sent anything, by the store's clock. */
  lastSeen: number
  /** Its flags, from every record accepted (thinning and eviction never drop evidence from them). */
  flags: FlagEvaluator
}

type Listener = (record: WireRecord) => void

/**
 * Holds runs in bounded memory and stores each run's records strictly in seq order: a duplicate or
 * out-of-order record is ignored and the ack tells the sender where to resume.
 * @example
 * const store = new RunStore()
 * store.ingest(records) // { 'run-1': 41 }
 */
export class RunStore {
  readonly #runs = new Map<string, RunState>()
  readonly #listeners = new Set<Listener>()
  readonly #maxSampleBytes: number
  readonly #maxEvents: number
  readonly #maxEventBytes: number
  readonly #maxLayerChanges: number
  readonly #flagThresholds: FlagThresholdsInput
  readonly #maxLayerChangeBytes: number
  readonly #staleAfterMs: number
  readonly #now: () => number
  readonly #persist: ((record: WireRecord) => void) | undefined

  constructor(options: RunStoreOptions = {}) {
    this.#maxSampleBytes = options.maxSampleBytesPerRun ?? 64 * 2 ** 20
    this.#maxEvents = options.maxEventsPerRun ?? 20000
    this.#maxEventBytes = options.maxEventBytesPerRun ?? 16 * 2 ** 20
    this.#maxLayerChanges = options.maxLayerChangesPerRun ?? 10_000
    this.#flagThresholds = options.flagThresholds ?? {}
    this.#maxLayerChangeBytes = options.maxLayerChangeBytesPerRun ?? 16 * 2 ** 20
    this.#staleAfterMs = options.staleAfterMs ?? 30_000
    this.#now = options.now ?? Date.now
    this.#persist = options.persist
  }

  /** Stores (and persists) the records that continue each run's sequence and returns the new acks. */
  ingest(records: readonly WireRecord[]): Acks {
    return this.#store(records, this.#persist)
  }

  /** Stores records read back from disk: like `ingest`, without persisting them again. */
  restore(records: readonly WireRecord[]): Acks {
    return this.#store(records, undefined)
  }

  #store(records: readonly WireRecord[], persist: ((record: WireRecord) => void) | undefined): Acks {
    const acks: Acks = {}
    for (const record of records) {
      if (this.#continues(record)) {
        persist?.(record)
        this.#accept(record)
        for (const listener of this.#listeners) listener(record)
      }
      this.touch(record.run)
      acks[record.run] = this.#runs.get(record.run)?.lastSeq ?? -1
    }
    return acks
  }

  /** The run's flags so far (see FlagEvaluator); undefined for an unknown run. */
  flags(run: string): Flag[] | undefined {
    return this.#runs.get(run)?.flags.flags()
  }

  /** Whether `record` is the next one of its run (a new run's `run` record, or the seq after the last). */
  #continues(record: WireRecord): boolean {
    const state = this.#runs.get(record.run)
    if (record.type === 'run') return !state
    return state !== undefined && record.seq === state.lastSeq + 1 && !state.end
  }

  #accept(record: WireRecord): void {
    const state = this.#runs.get(record.run)
    if (record.type === 'run') {
      this.#runs.set(record.run, {
        run: record,
        layers: null,
        untracked: new Set(),
        flags: new FlagEvaluator(this.#flagThresholds),
        samples: new SampleHistory(this.#maxSampleBytes),
        events: new BoundedQueue({ maxItems: this.#maxEvents, maxBytes: this.#maxEventBytes, sizeOf: eventBytes }),
        layerChanges: new BoundedQueue({ maxItems: this.#maxLayerChanges, maxBytes: this.#maxLayerChangeBytes, sizeOf: layerChangeBytes }),
        sampler: [],
        metrics: new Map(),
        end: null,
        lastSeq: 0,
        evictedSeq: -1,
        lastSeen: this.#now(),
      })
      this.#runs.get(record.run)!.flags.apply(record)
      return
    }
    if (!state) return
    state.lastSeq = record.seq
    state.flags.apply(record)
    if (record.type === 'sample') state.samples.push(record)
    else if (record.type === 'event') for (const old of state.events.push(record)) state.evictedSeq = Math.max(state.evictedSeq, old.seq)
    else if (record.type === 'sampler') state.sampler.push(record) // doublings only: at most ~17 per run
    else if (record.type === 'layer') {
      applyLayerChange(state, record)
      for (const old of state.layerChanges.push(record)) state.evictedSeq = Math.max(state.evictedSeq, old.seq)
    } else if (record.type === 'metric') {
      state.metrics.delete(record.name) // keeps the map in seq order
      if (state.metrics.size < MAX_METRIC_RECORDS) state.metrics.set(record.name, record)
    } else state.end = record
  }

  /** Notes that `run` is alive (a heartbeat); returns its ack like `ingest`. */
  touch(run: string): number {
    const state = this.#runs.get(run)
    if (state) state.lastSeen = this.#now()
    return state?.lastSeq ?? -1
  }

  #status(s: RunState): RunStatus {
    if (s.end) return s.end.status
    return this.#now() - s.lastSeen > this.#staleAfterMs ? 'interrupted' : 'live'
  }

  /** Highest contiguous seq stored for `run`, or -1 when the run is unknown. */
  ack(run: string): number {
    return this.#runs.get(run)?.lastSeq ?? -1
  }

  has(run: string): boolean {
    return this.#runs.has(run)
  }

  listRuns(): RunSummary[] {
    return [...this.#runs.values()]
      .map((s) => ({
        run: s.run.run,
        name: s.run.name,
        started: s.run.started,
        lastStep: s.end?.step ?? s.samples.last()?.step ?? 0,
        lastSeq: s.lastSeq,
        status: this.#status(s),
      }))
      .sort((a, b) => b.started - a.started)
  }

  snapshot(run: string): RunSnapshot | undefined {
    const s = this.#runs.get(run)
    if (!s) return undefined
    return {
      run: s.layers ? { ...s.run, layers: [...s.layers.list] } : s.run,
      samples: s.samples.toArray(),
      thinning: s.samples.thinning(),
      events: s.events.toArray(),
      sampler: [...s.sampler],
      layerChanges: s.layerChanges.toArray(),
      metrics: [...s.metrics.values()],
      untracked: [...s.untracked],
      end: s.end,
      lastSeq: s.lastSeq,
      status: this.#status(s),
      flags: s.flags.flags(),
    }
  }

  /**
   * Records of `run` with seq greater than `afterSeq`, in seq order, for resuming a live stream;
   * `undefined` when some of them were already evicted (the client must reload the snapshot).
   */
  recordsAfter(run: string, afterSeq: number): WireRecord[] | undefined {
    const s = this.#runs.get(run)
    if (!s || afterSeq < Math.max(s.samples.evictedSeq, s.evictedSeq)) return undefined
    const out: WireRecord[] = []
    if (afterSeq < 0) out.push(s.run)
    for (const r of s.samples.recent()) if (r.seq > afterSeq) out.push(r)
    for (const r of s.events.toArray()) if (r.seq > afterSeq) out.push(r)
    for (const r of s.sampler) if (r.seq > afterSeq) out.push(r)
    for (const r of s.layerChanges.toArray()) if (r.seq > afterSeq) out.push(r)
    for (const r of s.metrics.values()) if (r.seq > afterSeq) out.push(r)
    if (s.end && s.end.seq > afterSeq) out.push(s.end)
    return out.sort((a, b) => a.seq - b.seq)
  }

  /** Calls `listener` with every record stored from now on; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}

/**
 * Applies a layer record to the run's current layers: its new description replaces the old one in place,
 * a layer the run did not list is appended, and `info: null` keeps the layer listed but untracked.
 */
function applyLayerChange(state: RunState, change: LayerRecord): void {
  // copied on the first change, so the run record stays as received (and costs no index until then)
  const { list, index } = (state.layers ??= { list: [...state.run.layers], index: new Map(state.run.layers.map((l, i) => [l.name, i])) })
  const at = index.get(change.layer)
  if (change.info === null) {
    if (at !== undefined) state.untracked.add(change.layer)
    return
  }
  state.untracked.delete(change.layer)
  if (at === undefined) {
    index.set(change.layer, list.length)
    list.push(change.info)
  } else list[at] = change.info
}
