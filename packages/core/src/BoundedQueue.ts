/**
 * FIFO bounded by item count and by an estimate of its items' bytes: pushing past either bound drops the
 * oldest items (never the newest), so memory stays bounded however long a run is.
 * @example
 * const queue = new BoundedQueue<string>({ maxItems: 2, maxBytes: Infinity, sizeOf: (s) => s.length })
 * queue.push('a'); queue.push('b'); queue.push('c') // returns ['a']; queue.toArray() is ['b', 'c']
 */
export class BoundedQueue<T> {
  #items: T[] = []
  #sizes: number[] = []
  #head = 0
  #bytes = 0
  readonly #maxItems: number
  readonly #maxBytes: number
  readonly #sizeOf: (item: T) => number

  constructor(options: { maxItems: number; maxBytes: number; sizeOf: (item: T) => number }) {
    if (!(options.maxItems >= 1)) throw new RangeError(`maxItems must be at least 1, got ${options.maxItems}`)
    if (!(options.maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${options.maxBytes}`)
    this.#maxItems = options.maxItems
    this.#maxBytes = options.maxBytes
    this.#sizeOf = options.sizeOf
  }

  get size(): number {
    return this.#items.length - this.#head
  }

  /** Estimated bytes of the items held. */
  get bytes(): number {
    return this.#bytes
  }

  /** Appends `item`; returns the items it pushed out, oldest first (the newest item always stays). */
  push(item: T): T[] {
    const size = this.#sizeOf(item)
    this.#items.push(item)
    this.#sizes.push(size)
    this.#bytes += size
    const evicted: T[] = []
    while (this.size > 1 && (this.size > this.#maxItems || this.#bytes > this.#maxBytes)) {
      evicted.push(this.#items[this.#head]!)
      this.#items[this.#head] = undefined as T // the slot must not keep the item reachable until compaction
      this.#bytes -= this.#sizes[this.#head]!
      this.#head++
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      // drop the consumed prefix now and then: shift() per eviction would copy the array every time
      this.#items = this.#items.slice(this.#head)
      this.#sizes = this.#sizes.slice(this.#head)
      this.#head = 0
    }
    return evicted
  }

  first(): T | undefined {
    return this.size ? this.#items[this.#head] : undefined
  }

  last(): T | undefined {
    return this.size ? this.#items.at(-1) : undefined
  }

  toArray(): T[] {
    return this.#items.slice(this.#head)
  }
}
