import { LAYER_POINTS, applyToLayerHistory, type LayerHistory, type WireRecord } from '@sparselab-profiler/core'
import type { LiveRunObserver } from './LiveRunObserver.js'
import type { Schedule } from './nextFrame.js'
import { Subscribable } from './Subscribable.js'

export interface LayerHistoryState {
  /** The layer's history grown by the run's live records (see core's `applyToLayerHistory`); null while loading or failed. */
  history: LayerHistory | null
  error: string | null
}

export interface LayerHistoryObserverOptions {
  /** The run whose records grow the history, and whose client fetches it. */
  live: LiveRunObserver
  layer: string
  /** Points the history asks for; it thins back to this. @default LAYER_POINTS */
  points?: number
  /** When grown points are shown: at most once per call. @default nextFrame */
  schedule?: Schedule
}

/**
 * One layer's history, fetched when the observer starts (and whenever the run's overview is reloaded) and then
 * grown by the run's live records, so the page never holds every layer's histograms at once. Records that
 * arrive while the fetch is under way are applied to its answer. Starts with its first subscriber, stops with its last.
 * @example
 * const layer = new LayerHistoryObserver({ live, layer: 'fc1' })
 * const unsubscribe = layer.subscribe(() => console.log(layer.getSnapshot().history?.points.length))
 */
export class LayerHistoryObserver extends Subscribable<LayerHistoryState> {
  readonly #live: LiveRunObserver
  readonly #layer: string
  readonly #points: number
  #history: LayerHistory | null = null
  /** Records that arrived while the history was being fetched; null once it failed. */
  #waiting: WireRecord[] | null = []

  constructor(options: LayerHistoryObserverOptions) {
    super({ history: null, error: null }, options.schedule)
    this.#live = options.live
    this.#layer = options.layer
    this.#points = options.points ?? LAYER_POINTS
  }

  protected start(): () => void {
    let controller = new AbortController()
    const load = async () => {
      controller.abort()
      controller = new AbortController()
      const { signal } = controller
      this.#history = null
      this.#waiting = []
      this.show({ history: null, error: null })
      try {
        const answered = await this.#live.client.layerHistory(this.#live.run, this.#layer, { points: this.#points, signal })
        if (signal.aborted) return
        this.#history = (this.#waiting ?? []).reduce((history, record) => applyToLayerHistory(history, record, { points: this.#points }), answered)
        this.#waiting = []
        this.show({ history: this.#history, error: null })
      } catch (error) {
        if (signal.aborted) return
        this.#waiting = null
        this.show({ history: null, error: (error as Error).message })
      }
    }
    const unfollow = this.#live.follow({ record: (record) => this.#apply(record), reload: () => void load() })
    void load()
    return () => {
      unfollow()
      controller.abort()
    }
  }

  #apply(record: WireRecord): void {
    const history = this.#history
    if (!history) {
      this.#waiting?.push(record)
      return
    }
    this.#history = applyToLayerHistory(history, record, { points: this.#points })
    if (this.#history.points === history.points && this.#history.events === history.events) return // nothing on show changed
    this.showSoon(() => ({ history: this.#history, error: null }))
  }
}
