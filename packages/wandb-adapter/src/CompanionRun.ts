import { FlagEvaluator, type Flag, type FlagThresholdsInput, type RunRecord, type SampleRecord, type WireRecord } from '@sparselab-profiler/core'
import { WandbError, type RunIdentity, type WandbApi } from './WandbApi.js'
import { DEFAULT_MAX_LAYERS, WandbRows, type WandbRow } from './wandbRow.js'
import { MAX_ALERTS, alertText, alertTitle, restAlert } from './flagAlert.js'

const HISTORY = 'wandb-history.jsonl'
const SUMMARY = 'wandb-summary.json'

export interface CompanionRunOptions {
  api: WandbApi
  project: string
  /** @default the API key's own entity */
  entity?: string
  /** The W&B group. @default the profiled run's name (its model), so runs of one model sit together */
  group?: string
  /** Forward every this many samples. @default 1 */
  every?: number
  /** @default DEFAULT_MAX_LAYERS */
  maxLayers?: number
  /** Thresholds for the flags whose critical ones become alerts. @default the defaults (and the run's own) */
  flagThresholds?: FlagThresholdsInput
  /** Files uploaded once the run ended and its rows are in: the run log, the report. */
  finalFiles?: () => Promise<{ name: string; bytes: Uint8Array }[]>
  /** Least milliseconds between two requests: W&B's file stream takes about 2 a second per run. @default 500 */
  minIntervalMs?: number
  /** First wait after a failed request, doubled after each further failure up to `maxBackoffMs`. @default 1_000 */
  backoffMs?: number
  /** @default 60_000 */
  maxBackoffMs?: number
  /** History lines per request at most. @default 500 */
  maxLinesPerRequest?: number
  /** Records waiting while W&B is unreachable; past it the oldest samples are left out and counted. @default 100_000 */
  maxQueued?: number
  /**
   * When the W&B run already holds rows (a re-upload, or a server restarted mid-run): true skips that many of
   * this run's first rows, as W&B has them (a re-upload); false appends after them (records that arrive after
   * a restart). @default false
   */
  skipStored?: boolean
  /** Where problems are told (one line each). @default console.warn */
  warn?: (message: string) => void
}

/** Where a companion run stands. */
export interface CompanionRunState {
  /** The W&B run, once created. */
  run: RunIdentity | undefined
  /** History rows W&B has acknowledged. */
  rowsSent: number
  /** Records waiting to be turned into rows and sent. */
  queued: number
  /** Samples dropped from a full queue. */
  leftOut: number
  alertsSent: number
  /** True once W&B has the whole run (its rows, files and the end). */
  complete: boolean
  /** The error that stopped forwarding (a refused key, a refused request), if any. */
  error: string | undefined
}

/**
 * One profiled run forwarded to W&B as a run of its own (a companion of the training's W&B run, if any), its
 * rows those of `WandbRows`. `add` only queues a record: turning records into rows and sending them happens in
 * the background, at most one request per `minIntervalMs`, so ingest never waits on W&B. A request that fails
 * with 429, 5xx or no connection is sent again, unchanged (same lines at the same offset), after a growing
 * wait (the server's `Retry-After` when it gives one): nothing is lost, in order. A refused key or request
 * stops forwarding with one message, as the profiled run goes on. The run's end record completes the W&B run
 * after its last rows and `finalFiles`; critical flags become W&B alerts as they appear.
 * @example
 * const companion = new CompanionRun({ api, project: 'sparse-training' })
 * store.subscribe((record) => companion.add(record))
 * await companion.finished
 */
export class CompanionRun {
  /** Resolves when the W&B run is complete, or forwarding stopped (see `state().error`). Never rejects. */
  readonly finished: Promise<void>
  readonly #options: CompanionRunOptions
  readonly #rows: WandbRows
  readonly #flags: FlagEvaluator
  #queue: WireRecord[] = []
  /** Lines made from the queue, not yet acknowledged; the first is at history offset `#offset`. */
  #pending: string[] = []
  #offset = 0
  /** Rows still to skip, W&B holding them already (`skipStored`). */
  #skip = 0
  #runRecord: RunRecord | undefined
  #lastRow: WandbRow | undefined
  #lastSample: SampleRecord | undefined
  #ended: { exitcode: number } | undefined
  #identity: RunIdentity | undefined
  #alerted = new Set<string>()
  #alertsSent = 0
  #leftOut = 0
  #complete = false
  #stopped = false
  #error: string | undefined
  #wake: (() => void) | undefined
  #lastRequest = 0
  #done!: () => void

  constructor(options: CompanionRunOptions) {
    this.#options = options
    this.#rows = new WandbRows({ every: options.every, maxLayers: options.maxLayers ?? DEFAULT_MAX_LAYERS })
    this.#flags = new FlagEvaluator(options.flagThresholds)
    this.finished = new Promise((resolve) => (this.#done = resolve))
    void this.#pump()
  }

  /** Queues a record of the run, in seq order; returns at once. */
  add(record: WireRecord): void {
    if (this.#stopped || this.#complete) return
    this.#queue.push(record)
    const most = this.#options.maxQueued ?? 100_000
    if (this.#queue.length > most) this.#leaveOutOldestSample()
    this.#wake?.()
  }

  /** Ends the W&B run once every queued row is in, for a run log without an end record (exit code 1). */
  complete(exitcode = 1): void {
    this.#queue.push({ type: 'end', run: this.#runRecord?.run ?? '', seq: 0, step: 0, time: 0, status: exitcode ? 'interrupted' : 'finished' } as WireRecord)
    this.#wake?.()
  }

  /** Stops after the request in flight, leaving the W&B run incomplete (a server shutting down). */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#wake?.()
    await this.finished
  }

  state(): CompanionRunState {
    return {
      run: this.#identity,
      rowsSent: this.#offset,
      queued: this.#queue.length,
      leftOut: this.#leftOut,
      alertsSent: this.#alertsSent,
      complete: this.#complete,
      error: this.#error,
    }
  }

  async #pump(): Promise<void> {
    try {
      while (!this.#stopped) {
        if (!this.#identity) {
          // No row is made before the W&B run exists: its history may already hold some (see `skipStored`).
          this.#runRecord ??= this.#queue.find((record): record is RunRecord => record.type === 'run')
          if (this.#runRecord) await this.#retrying(() => this.#create())
          else await this.#sleep(Infinity)
          continue
        }
        this.#take()
        const lines = this.#pending.slice(0, this.#options.maxLinesPerRequest ?? 500)
        if (lines.length) {
          await this.#retrying(() => this.#send(lines))
          continue
        }
        await this.#retrying(() => this.#alertNew())
        if (this.#ended && !this.#queue.length) {
          await this.#finish()
          return
        }
        await this.#sleep(Infinity)
      }
    } catch (error) {
      if (!(error instanceof Stopped)) this.#fail(error)
    } finally {
      this.#done()
    }
  }

  /** Turns queued records into pending lines (and feeds the flags) up to the request's size. */
  #take(): void {
    const most = this.#options.maxLinesPerRequest ?? 500
    while (this.#queue.length && this.#pending.length < most) {
      const record = this.#queue.shift()!
      this.#flags.apply(record)
      if (record.type === 'end') this.#ended = { exitcode: record.status === 'finished' ? 0 : 1 }
      const row = this.#rows.add(record)
      if (!row || record.type !== 'sample') continue
      if (this.#skip > 0 && this.#skip--) continue
      const started = this.#runRecord?.started ?? record.time
      this.#pending.push(JSON.stringify({ ...row, _step: this.#offset + this.#pending.length, _runtime: Math.max(0, record.time - started), _timestamp: record.time }))
      this.#lastRow = row
      this.#lastSample = record
    }
  }

  async #create(): Promise<void> {
    const run = this.#runRecord!
    const entity = this.#options.entity ?? (await this.#options.api.viewerEntity())
    const identity = await this.#options.api.upsertRun({
      entity,
      project: this.#options.project,
      name: run.run,
      displayName: run.name,
      group: this.#options.group ?? run.name,
      jobType: 'sparselab-profiler',
      config: { sparselab: { run: run.run, name: run.name, algorithm: run.algorithm, sampler: run.sampler, layers: run.layers.length, host: run.host, profiler: run.profiler } },
    })
    this.#identity = identity
    if (this.#options.skipStored) this.#skip = identity.historyLineCount
    else this.#offset = identity.historyLineCount
  }

  async #send(lines: string[]): Promise<void> {
    await this.#options.api.fileStream(this.#identity!, { files: { [HISTORY]: { offset: this.#offset, content: lines }, [SUMMARY]: { offset: 0, content: [this.#summary()] } } })
    this.#offset += lines.length
    this.#pending.splice(0, lines.length)
  }

  /** The run's summary: the last row's numbers and the flag counts by severity. */
  #summary(): string {
    const summary: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(this.#lastRow ?? {})) if (typeof value === 'number') summary[key] = value
    const flags = this.#flags.flags()
    for (const severity of ['critical', 'warning', 'info'] as const) summary[`sparselab/flags/${severity}`] = flags.filter((flag) => flag.severity === severity).length
    if (this.#lastSample) Object.assign(summary, { _step: this.#offset + this.#pending.length - 1, _timestamp: this.#lastSample.time })
    return JSON.stringify(summary)
  }

  /** The first `MAX_ALERTS` critical flags, each as an alert when it appears. */
  async #alertNew(): Promise<void> {
    for (const flag of this.#flags.flags()) {
      if (flag.severity !== 'critical' || this.#alerted.has(flagKey(flag)) || this.#alerted.size >= MAX_ALERTS) continue
      await this.#options.api.alert(this.#identity!, { title: alertTitle(flag), text: alertText(flag), severity: 'ERROR' })
      this.#alerted.add(flagKey(flag))
      this.#alertsSent += 1
    }
  }

  /** At the end, one alert sums up the critical flags past `MAX_ALERTS`. */
  async #alertRest(): Promise<void> {
    const rest = this.#flags.flags().filter((flag) => flag.severity === 'critical' && !this.#alerted.has(flagKey(flag)))
    if (!rest.length) return
    await this.#options.api.alert(this.#identity!, { ...restAlert(rest), severity: 'ERROR' })
    this.#alertsSent += 1
  }

  async #finish(): Promise<void> {
    await this.#retrying(() => this.#alertRest())
    const files = this.#options.finalFiles ? await this.#options.finalFiles().catch((error: Error) => (this.#warn(`no files for W&B (${error.message})`), [])) : []
    if (files.length) await this.#retrying(() => this.#options.api.uploadFiles(this.#identity!, files))
    await this.#retrying(() => this.#options.api.fileStream(this.#identity!, { complete: true, exitcode: this.#ended!.exitcode, uploaded: files.map((file) => file.name) }))
    this.#complete = true
  }

  /** Runs `call` until it succeeds, waiting between tries; a non-retryable failure is thrown on. */
  async #retrying(call: () => Promise<void>): Promise<void> {
    let wait = this.#options.backoffMs ?? 1_000
    for (let attempt = 0; ; attempt++) {
      await this.#sleep(Math.max(0, this.#lastRequest + (this.#options.minIntervalMs ?? 500) - Date.now()), true)
      this.#lastRequest = Date.now()
      try {
        return await call()
      } catch (error) {
        if (!(error instanceof WandbError) || !error.retryable) throw error
        if (attempt === 0) this.#warn(`${error.message}; retrying until it answers, nothing is lost`)
        await this.#sleep(error.retryAfter !== undefined ? error.retryAfter * 1000 : wait, true)
        wait = Math.min(wait * 2, this.#options.maxBackoffMs ?? 60_000)
      }
    }
  }

  /** Waits `ms` (or until a record arrives, unless `whole`); throws `Stopped` once stopped. */
  #sleep(ms: number, whole = false): Promise<void> {
    if (this.#stopped) return Promise.reject(new Stopped())
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => finish(), ms) : undefined
      const finish = () => {
        clearTimeout(timer)
        this.#wake = undefined
        if (this.#stopped) reject(new Stopped())
        else resolve()
      }
      this.#wake = () => (this.#stopped || !whole ? finish() : undefined)
    })
  }

  #leaveOutOldestSample(): void {
    const at = this.#queue.findIndex((record) => record.type === 'sample')
    if (at < 0) return
    this.#queue.splice(at, 1)
    if (this.#leftOut++ === 0) this.#warn(`W&B has been unreachable long enough for ${this.#options.maxQueued ?? 100_000} records to wait; the oldest samples are left out (the run log has them all)`)
  }

  #fail(error: unknown): void {
    this.#error = error instanceof Error ? error.message : String(error)
    this.#warn(`forwarding stopped: ${this.#error}`)
  }

  #warn(message: string): void {
    const run = this.#runRecord?.run ?? 'a run'
    ;(this.#options.warn ?? console.warn)(`sparselab-profiler: W&B, ${run}: ${message}`)
  }
}

class Stopped extends Error {}

const flagKey = (flag: Flag) => `${flag.rule}|${flag.layers.join(',')}|${flag.metric ?? ''}`
