import { BoundedQueue } from './BoundedQueue.js'
import { sampleBytes } from './recordBytes.js'
import type { SampleRecord } from './schema.js'

/** How the samples before the full-resolution window were thinned; null while nothing was. */
export interface Thinning {
  /** One sample in this many is kept before `fullFrom` (a power of two). */
  keepsOneIn: number
  /** Step of the oldest sample still held at full resolution. */
  fullFrom: number
}

/**
 * A run's samples in bounded memory: the newest at full resolution, the older ones thinned evenly
 * (every 2nd, then every 4th, …) as the run grows, each part within half of `maxBytes` (estimated). A
 * 100k-step run with 1000 layers therefore keeps its whole span, at a resolution that fits the budget.
 * @example const history = new SampleHistory(64 * 2 ** 20); history.push(sample); history.toArray()
 */
export class SampleHistory {
  readonly #recent: BoundedQueue<SampleRecord>
  #older: SampleRecord[] = []
  #olderBytes = 0
  /** Samples that have left the full-resolution window so far. */
  #retired = 0
  #keepsOneIn = 1
  #evictedSeq = -1

  constructor(readonly maxBytes: number) {
    this.#recent = new BoundedQueue({ maxItems: Infinity, maxBytes: maxBytes / 2, sizeOf: sampleBytes })
  }

  /** Highest seq that left the full-resolution window (-1: none did): a replay from before it has gaps. */
  get evictedSeq(): number {
    return this.#evictedSeq
  }

  get size(): number {
    return this.#older.length + this.#recent.size
  }

  push(sample: SampleRecord): void {
    for (const old of this.#recent.push(sample)) this.#retire(old)
  }

  #retire(sample: SampleRecord): void {
    this.#evictedSeq = Math.max(this.#evictedSeq, sample.seq)
    if (this.#retired++ % this.#keepsOneIn !== 0) return
    this.#older.push(sample)
    this.#olderBytes += sampleBytes(sample)
    if (this.#olderBytes <= this.maxBytes / 2 || this.#older.length < 2) return
    // Over budget: keep every other sample and from now on one in twice as many, so spacing stays even.
    this.#older = this.#older.filter((_, i) => i % 2 === 0)
    this.#olderBytes = this.#older.reduce((sum, s) => sum + sampleBytes(s), 0)
    this.#keepsOneIn *= 2
  }

  last(): SampleRecord | undefined {
    return this.#recent.last()
  }

  thinning(): Thinning | null {
    return this.#retired && this.#keepsOneIn > 1 ? { keepsOneIn: this.#keepsOneIn, fullFrom: this.#recent.first()!.step } : null
  }

  /** Every sample held, oldest first. */
  toArray(): SampleRecord[] {
    return [...this.#older, ...this.#recent.toArray()]
  }

  /** The full-resolution samples only, oldest first. */
  recent(): SampleRecord[] {
    return this.#recent.toArray()
  }
}
