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
/** Most characters (code points) of a layer record's `reason`. */
export const MAX_REASON_CHARS = 500
/** Most characters (code points) of a layer's `device`. */
export const MAX_DEVICE_CHARS = 64

/** How a layer's weights are stored, which decides the bytes it really uses. */
export const STORAGE_FORMATS = ['padded_csr', 'dense', 'dense_masked', 'coo', 'csr', 'semi_structured_2_4'] as const
export type StorageFormat = (typeof STORAGE_FORMATS)[number]

/** Where the profiler learns which weights are structurally zero. */
export const MASK_SOURCES = ['sparselab', 'torch_prune', 'parametrization', 'rigl_torch', 'native_sparse', 'inferred_zeros'] as const
export type MaskSource = (typeof MASK_SOURCES)[number]

/** A profiled layer as the run record lists it, or as a layer record redescribes it. */
export interface LayerInfo {
  name: string
  shape: number[]
  numel: number
  dtype: string
  format: StorageFormat
  mask_source: MaskSource
  /**
   * Other module paths that share this exact weight storage: tied weights are profiled once, under `name`.
   * At most MAX_LAYERS entries. Absent in logs of older profilers, which means none are known.
   */
  aliases?: string[]
  /** Where the weight lives, e.g. "cpu" or "cuda:0"; at most MAX_DEVICE_CHARS. Absent in logs of older profilers: unknown. */
  device?: string
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

/**
 * A profiled layer's storage changed under the profiler (a mask removed or applied, its dtype or device
 * changed, the module left or joined the model): from `step` on, `info` describes it.
 */
export interface LayerRecord {
  type: 'layer'
  run: string
  seq: number
  step: number
  time: number
  /** The layer's name, as in samples. */
  layer: string
  /**
   * The layer's full new description (`info.name` is `layer`), or null when it is no longer profiled (it
   * left the model). A layer the run record did not list is added to the run's layers.
   */
  info: LayerInfo | null
  /** Why, for people: e.g. "mask removed (torch_prune → inferred_zeros)"; at most MAX_REASON_CHARS. */
  reason: string
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

export type WireRecord = RunRecord | SampleRecord | EventRecord | SamplerRecord | LayerRecord | EndRecord
