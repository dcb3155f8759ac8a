import type { WireRecord } from '@sparselab-profiler/core'

export declare const MAX_BATCH_BYTES: number
export declare const BINS: number
export declare function trainingRun(options: {
  run: string
  layerCount: number
  steps: number
  every: number
  updateEvery: number
  seed: number
  /** Also write active_ever, mask_changed, absmax, capacity and regrown. @default false */
  exploration?: boolean
  /** Plugin metrics per layer sample, each declared by a metric record with limits. @default 0 */
  metrics?: number
}): Generator<WireRecord, void, unknown>
export declare function checkSchema(records: readonly WireRecord[]): void
export declare function toBatches(lines: readonly string[], maxRecords: number): { body: string; records: number; bytes: number }[]
