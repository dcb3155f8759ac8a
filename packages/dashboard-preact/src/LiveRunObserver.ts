import { OVERVIEW_POINTS, applyToOverview, liveOverview, type LiveOverview, type WireRecord } from '@sparselab-profiler/core'
import { followRun, type StreamStatus } from './followRun.js'
import type { Schedule } from './nextFrame.js'
import type { RunsClient } from './runsClient.js'
import { Subscribable } from './Subscribable.js'

export interface LiveRunState {
  /** The run's overview grown by its live records (see core's `applyToOverview`); null while loading or failed. */
  data: LiveOverview | null
  status: StreamStatus | 'loading' | 'error'
  error: string | null
}

export interface LiveRunObserverOptions {
  client: RunsClient
  run: string
  /** Samples the overview asks for; the live view thins back to this. @default OVERVIEW_POINTS */
  points?: number
  /** When records that arrived are shown: all of them at once, at most once per call. @default nextFrame */
  schedule?: Schedule
  /** Delay before the stream reconnects. @default 1000 */
  retryMs?: number
}

/** Follows a live run's records beside its overview, e.g. one layer's history. */
export interface RunFollower {
  /** A record the overview was just grown by; records come in seq order, each once. */
  record(record: WireRecord): void
  /** The overview was (re)loaded from the server and the stream resumes after it: reload what you hold. */
  reload(): void
}

/**
 * One run as the page shows it: loads the overview, follows the stream and folds each record in with core's
 * `applyToOverview`, reloading when the server no longer holds the records after the page's last one. Starts
 * with its first subscriber and stops with its last; `getSnapshot` changes only when there is something new.
 * @example
 * const observer = new LiveRunObserver({ client: runsClient({ url }), run })
 * const unsubscribe = observer.subscribe(() => console.log(observer.getSnapshot().data?.latest?.step))
 */
export class LiveRunObserver extends Subscribable<LiveRunState> {
  readonly client: RunsClient
  readonly run: string
  readonly #points: number
  readonly #retryMs: number | undefined
  readonly #followers = new Set<RunFollower>()
  #view: LiveOverview | null = null

  constructor(options: LiveRunObserverOptions) {
    super({ data: null, status: 'loading', error: null }, options.schedule)
    this.client = options.client
    this.run = options.run
    this.#points = options.points ?? OVERVIEW_POINTS
    this.#retryMs = options.retryMs
  }

  /** Tells `follower` every record folded in from now on, and every reload; returns the function that stops it. */
  follow(follower: RunFollower): () => void {
    this.#followers.add(follower)
    return () => this.#followers.delete(follower)
  }

  protected start(): () => void {
    const controller = new AbortController()
    let stopFollowing = () => {}
    const load = async () => {
      stopFollowing()
      this.#view = null
      this.show({ data: null, status: 'loading', error: null })
      try {
        const view = liveOverview(await this.client.overview(this.run, { points: this.#points, signal: controller.signal }))
        if (controller.signal.aborted) return
        this.#view = view
        this.show({ data: view, status: 'connecting', error: null })
        for (const follower of this.#followers) follower.reload()
        stopFollowing = followRun({
          client: this.client,
          run: this.run,
          after: view.lastSeq,
          retryMs: this.#retryMs,
          onRecord: (record) => this.#apply(record),
          onReset: () => void load(),
          onStatus: (status) => this.show({ ...this.getSnapshot(), data: this.#view, status }),
        })
      } catch (error) {
        if (!controller.signal.aborted) this.show({ data: null, status: 'error', error: (error as Error).message })
      }
    }
    void load()
    return () => {
      controller.abort()
      stopFollowing()
    }
  }

  #apply(record: WireRecord): void {
    this.#view = applyToOverview(this.#view!, record, { points: this.#points })
    for (const follower of this.#followers) follower.record(record)
    this.showSoon(() => ({ ...this.getSnapshot(), data: this.#view }))
  }
}
