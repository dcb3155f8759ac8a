/**
 * Fixed-capacity FIFO that overwrites its oldest item, so memory stays bounded however long a run is.
 * @example const ring = new RingBuffer<number>(2); ring.push(1); ring.push(2); ring.push(3); ring.toArray() // [2, 3]
 */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[]
  #start = 0
  #size = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.#items = new Array(capacity)
  }

  get size(): number {
    return this.#size
  }

  /** Appends `item`; returns the item it pushed out, if the buffer was full. */
  push(item: T): T | undefined {
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size++) % this.capacity] = item
      return undefined
    }
    const evicted = this.#items[this.#start]
    this.#items[this.#start] = item
    this.#start = (this.#start + 1) % this.capacity
    return evicted
  }

  /** The newest item, if any. */
  last(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[(this.#start + this.#size - 1) % this.capacity]
  }

  toArray(): T[] {
    const out: T[] = []
    for (let i = 0; i < this.#size; i++) out.push(this.#items[(this.#start + i) % this.capacity] as T)
    return out
  }
}
