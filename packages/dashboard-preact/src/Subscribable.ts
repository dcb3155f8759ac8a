import { nextFrame, type Schedule } from './nextFrame.js'

/**
 * A snapshot that subscribers watch, and the work behind it, which starts with the first subscriber and stops
 * with the last (the part TanStack Query's observers share). Subclasses say what `start` does and call `show`.
 * @example
 * class Clock extends Subscribable<{ now: number }> {
 *   protected start() {
 *     const timer = setInterval(() => this.show({ now: Date.now() }), 1000)
 *     return () => clearInterval(timer)
 *   }
 * }
 */
export abstract class Subscribable<TState extends object> {
  readonly #listeners = new Set<() => void>()
  readonly #schedule: Schedule
  #state: TState
  #stop: (() => void) | undefined
  #cancelShow: (() => void) | undefined

  /** `schedule` decides when `showSoon` shows. @default schedule: nextFrame */
  constructor(initial: TState, schedule: Schedule = nextFrame) {
    this.#state = initial
    this.#schedule = schedule
  }

  /** Calls `listener` whenever the snapshot changed; returns the function that unsubscribes. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    if (this.#listeners.size === 1) this.#stop = this.start()
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return
      this.#stop?.()
      this.#stop = undefined
      this.#cancelShow?.()
      this.#cancelShow = undefined
    }
  }

  /** The state now: the same object until something in it changed. */
  getSnapshot = (): TState => this.#state

  /** Begins the work the subscribers watch; returns the function that ends it. */
  protected abstract start(): () => void

  /** Makes `state` the snapshot and tells the subscribers, unless each of its fields is what it was. */
  protected show(state: TState): void {
    const shown = this.#state as Record<string, unknown>
    if (Object.entries(state).every(([key, value]) => shown[key] === value)) return
    this.#state = state
    for (const listener of this.#listeners) listener()
  }

  /** Shows `next()` when the schedule says: once, however often it is asked before then. */
  protected showSoon(next: () => TState): void {
    this.#cancelShow ??= this.#schedule(() => {
      this.#cancelShow = undefined
      this.show(next())
    })
  }
}
