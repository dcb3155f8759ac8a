/** Wire records of schema version 1: one JSON object per NDJSON line. Mirrored by python/records.py. */

export const SCHEMA_VERSION = 1

/*
 * Size limits of schema v1, so one hostile or broken record cannot make the server hold unbounded data
 * (the ingest body limit, 16 MiB by default, bounds a whole batch on top of these).
 * Mirrored by python/records.py.
 */
/** Most bins one layer's histogram may have; the callback samples 64 by default. */
export const MAX_HISTOGRAM_BINS = 1024
/** Most layers one run record or sample may list (a large mixture-of-experts model has tens of thousands). */
export const MAX_LAYERS = 100_000
/** Most dimensions of one layer's shape. */
export const MAX_SHAPE_DIMS = 8
/** Most output rows one topology event may break its count into. */
export const MAX_EVENT_ROWS = 1_000_000

/** How a layer's weights are stored, which decides the bytes it really uses. */
export const STORAGE_FORMATS = ['padded_csr', 'dense', 'dense_masked', 'coo', 'csr', 'semi_structured_2_4'] as const
export type StorageFormat = (typeof STORAGE_FORMATS)[number]

/** Where the profiler learns which weights are structurally zero. */
export const MASK_SOURCES = ['sparselab', 'torch_prune', 'parametrization', 'rigl_torch', 'native_sparse', 'inferred_zeros'] as const
export type MaskSource = (typeof MASK_SOURCES)[number]

export interface LayerInfo {
  name: string
  shape: number[]
  numel: number
  dtype: string
  format: StorageFormat
  mask_source: MaskSource
}

export interface AlgorithmInfo {
  name: string
  params: Record<string, number | string | boolean | null>
}

export interface SamplerConfig {
  every: number
}

/** Opens a run; always `seq` 0. */
export interface RunRecord {
  type: 'run'
  run: string
  seq: number
  name: string
  started: number
  schema: number
  /** Machine the training ran on. */
  host: string
  /** Version of the profiler that recorded the run. */
  profiler: string
  algorithm: AlgorithmInfo | null
  layers: LayerInfo[]
  sampler: SamplerConfig
}

/**
 * Histogram of a layer's non-zero, finite values: `counts[i]` values fell in
 * `[lo + i·w, lo + (i+1)·w)` with `w = (hi - lo) / counts.length`; the last bin includes `hi`.
 */
export interface Histogram {
  lo: number
  hi: number
  counts: number[]
}

export interface LayerSample {
  name: string
  nnz: number
  numel: number
  sparsity: number
  /** Bytes the storage really occupies (values, indices, row metadata). */
  bytes: number
  /** Bytes of the same weight stored dense. */
  dense_bytes: number
  hist: Histogram
  /** Count of NaN and ±Inf values among the stored ones. */
  nonfinite: number
}

export interface SampleRecord {
  type: 'sample'
  run: string
  seq: number
  step: number
  time: number
  layers: LayerSample[]
  /** Milliseconds the profiler spent taking this sample. */
  cost_ms: number
  /** Recent training step time in milliseconds, `null` before two steps were seen. */
  step_ms: number | null
}

export type TopologyOp = 'drop' | 'grow'

export interface EventRecord {
  type: 'event'
  run: string
  seq: number
  step: number
  time: number
  layer: string
  op: TopologyOp
  count: number
  /** True when counted by hooking the algorithm, false when inferred from a mask diff. */
  exact: boolean
  algorithm: string
  /** What the algorithm asked for, when known (hooked algorithms only). */
  requested: number | null
  /** Where: how many of `count` fell in each output row, when the algorithm is hooked per position. */
  rows: number[] | null
}

/** The adaptive sampler changed the interval: from this step on, one sample every `every` steps. */
export interface SamplerRecord {
  type: 'sampler'
  run: string
  seq: number
  step: number
  time: number
  every: number
  /** Profiler time over training time that triggered the change. */
  overhead: number
}

export type EndStatus = 'finished' | 'crashed' | 'interrupted'

export interface EndRecord {
  type: 'end'
  run: string
  seq: number
  step: number
  time: number
  status: EndStatus
}

export type WireRecord = RunRecord | SampleRecord | EventRecord | SamplerRecord | EndRecord
