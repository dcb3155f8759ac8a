/**
 * Wire records of schema version 1, one JSON object per NDJSON line, declared once: the TypeScript types
 * are inferred from these valibot schemas, validateRecord checks them, and test/vectors/wire.schema.json,
 * which the Python tests validate through, is generated from them (`npm run schema`).
 */
import * as v from 'valibot'
import { eventRows, histogramRange, layerRecordInfo, layerSampleCounts, type Rule } from './crossFieldRules.js'
import { describe } from './describe.js'

export const SCHEMA_VERSION = 1

/*
 * Size limits of schema v1, so one hostile or broken record cannot make the server hold unbounded data
 * (the ingest body limit, 16 MiB by default, bounds a whole batch on top of these).
 * python/records.py names them alike; a Python test checks them against the generated JSON Schema.
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
/** Most named training scalars (loss, accuracy, …) one sample may carry. */
export const MAX_SCALARS = 64
/** Most characters (code points) of a training scalar's name, and of a plugin metric's. */
export const MAX_SCALAR_NAME_CHARS = 64
/** Most user-defined per-layer metrics ("plugin metrics") one layer sample may carry. */
export const MAX_METRICS = 16

/** How a layer's weights are stored, which decides the bytes it really uses. */
export const STORAGE_FORMATS = ['padded_csr', 'dense', 'dense_masked', 'coo', 'csr', 'semi_structured_2_4'] as const
export type StorageFormat = (typeof STORAGE_FORMATS)[number]

/** Where the profiler learns which weights are structurally zero. */
export const MASK_SOURCES = ['sparselab', 'torch_prune', 'parametrization', 'rigl_torch', 'native_sparse', 'inferred_zeros'] as const
export type MaskSource = (typeof MASK_SOURCES)[number]

/** Run ids become folder names on disk: a safe alphabet, at most 128 characters, never "..". */
export const RUN_ID_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export const LayerInfoSchema = object({
  name: nonEmptyString(),
  shape: arrayOf(integer(0), { max: MAX_SHAPE_DIMS }),
  numel: integer(1),
  dtype: nonEmptyString(),
  format: oneOf(STORAGE_FORMATS),
  mask_source: oneOf(MASK_SOURCES),
  /**
   * Other module paths that share this exact weight storage: tied weights are profiled once, under `name`.
   * At most MAX_LAYERS entries. Absent in logs of older profilers, which means none are known.
   */
  aliases: optional(arrayOf(nonEmptyString(), { max: MAX_LAYERS })),
  /** Where the weight lives, e.g. "cpu" or "cuda:0"; at most MAX_DEVICE_CHARS. Absent in logs of older profilers: unknown. */
  device: optional(text(MAX_DEVICE_CHARS)),
})
/** A profiled layer as the run record lists it, or as a layer record redescribes it. */
export interface LayerInfo extends v.InferOutput<typeof LayerInfoSchema> {}

export const AlgorithmInfoSchema = object({ name: nonEmptyString(), params: recordOf(scalar()) })
export interface AlgorithmInfo extends v.InferOutput<typeof AlgorithmInfoSchema> {}

export const SamplerConfigSchema = object({
  every: integer(1),
  /**
   * The share of training time the adaptive sampler keeps the profiler under (0.01 = 1%) by widening `every`
   * (each change is a sampler record), or null when it is off and `every` stays fixed. Absent in logs of older
   * profilers: unknown.
   */
  budget: optional(nullable(finiteNumber(0))),
})
export interface SamplerConfig extends v.InferOutput<typeof SamplerConfigSchema> {}

/** When each flag rule fires (FlagEvaluator in flags.ts; defaults in DEFAULT_FLAG_THRESHOLDS); every key optional. */
export const FlagThresholdsSchema = object({
  /** sparsity-drift: fraction (0.05 = 5 points) a layer's sparsity may move from its first sample under RigL/SET (warning). */
  drift: optional(finiteNumber(0)),
  /** sparsity-drift: the drift past which it is a collapse (critical). */
  collapse: optional(finiteNumber(0)),
  /** layer-off-target: how far a managed layer may sit from the algorithm's target … */
  offTarget: optional(finiteNumber(0)),
  /** … for this many samples in a row. */
  offTargetSamples: optional(integer(1)),
  /** layer-off-target without a target: how far a masked layer may sit from the other masked layers together (info). */
  offOthers: optional(finiteNumber(0)),
  /** weights-exploding / -vanishing: the factor the size of |w| may move by within `magnitudeWindow` samples. */
  magnitudeFactor: optional(finiteNumber(1)),
  magnitudeWindow: optional(integer(2)),
  /** drop-grow-imbalance: |drops − grows| over the larger, per update, under RigL/SET. */
  imbalance: optional(finiteNumber(0)),
  /** churn-not-settling: updates compared at each end of the run … */
  churnUpdates: optional(integer(1)),
  /** … and the share of the early churn the late one may keep. */
  churnSettled: optional(finiteNumber(0)),
  /** interval-widened: how many times the requested interval the sampler may widen to. */
  intervalFactor: optional(finiteNumber(1)),
  /** dead-layer: the largest |w| at or under which a layer's active weights all count as zero. */
  deadAbs: optional(finiteNumber(0)),
  /** padding-waste: the share of a padded format's slots that may hold no connection. */
  padding: optional(finiteNumber(0)),
  /** exploration-stalled: the updates looked back over … */
  stallUpdates: optional(integer(1)),
  /** … and the share of their grown connections that must never have been active before. */
  stallShare: optional(finiteNumber(0)),
  /** weights-split: the least share of active weights a separated cluster of large weights must hold. */
  splitShare: optional(finiteNumber(0)),
})
export type FlagThresholdsInput = v.InferOutput<typeof FlagThresholdsSchema>

export const RunRecordSchema = object({
  type: tag('run'),
  run: runId(),
  seq: exactly(0),
  name: nonEmptyString(),
  started: finiteNumber(0),
  schema: exactly(SCHEMA_VERSION),
  /** Machine the training ran on. */
  host: nonEmptyString(),
  /** Version of the profiler that recorded the run. */
  profiler: nonEmptyString(),
  algorithm: nullable(AlgorithmInfoSchema),
  layers: arrayOf(LayerInfoSchema, { max: MAX_LAYERS }),
  sampler: SamplerConfigSchema,
  /** The run's own flag thresholds, over the defaults (FlagThresholds in flags.ts documents each). */
  flag_thresholds: optional(FlagThresholdsSchema),
})
/** Opens a run; always `seq` 0. */
export interface RunRecord extends v.InferOutput<typeof RunRecordSchema> {}

export const HistogramSchema = object(
  { lo: finiteNumber(), hi: finiteNumber(), counts: arrayOf(integer(0), { min: 1, max: MAX_HISTOGRAM_BINS }) },
  histogramRange,
)
/**
 * Histogram of a layer's non-zero, finite values: `counts[i]` values fell in
 * `[lo + i·w, lo + (i+1)·w)` with `w = (hi - lo) / counts.length`; the last bin includes `hi`.
 */
export interface Histogram extends v.InferOutput<typeof HistogramSchema> {}

export const LayerSampleSchema = object(
  {
    name: nonEmptyString(),
    nnz: integer(0),
    numel: integer(1),
    sparsity: finiteNumber(0),
    /** Bytes the storage really occupies (values, indices, row metadata). */
    bytes: integer(0),
    /** Bytes of the same weight stored dense. */
    dense_bytes: integer(0),
    hist: HistogramSchema,
    /** Count of NaN and ±Inf values among the stored ones. */
    nonfinite: integer(0),
    /**
     * User-defined per-layer metrics ("plugin metrics": a function of the layer's weight and mask that the
     * profiler calls at each sample): name → its value for this layer, or null when the function returned NaN
     * or ±Inf (JSON has no NaN). At most MAX_METRICS names of 1 to MAX_SCALAR_NAME_CHARS characters, as
     * scalar names. Absent when none are registered (or all failed), and in logs of older profilers.
     */
    metrics: optional(recordOf(nullable(finiteNumber()), { maxKeys: MAX_METRICS, keyChars: MAX_SCALAR_NAME_CHARS })),
    /**
     * How many positions have been active at any point observed so far (every sample and every hooked
     * topology update since the layer's first sample or storage change): the numerator of the in-time
     * over-parameterization rate, active_ever / numel. Only for layers with a mask (not inferred zeros).
     */
    active_ever: optional(integer(0)),
    /**
     * Positions whose active state differs from the layer's previous sample (dropped plus grown, net over the
     * interval); absent at its first sample. Mask distance = mask_changed / (previous nnz + nnz).
     */
    mask_changed: optional(integer(0)),
    /** The largest |w| among the layer's finite stored values at this sample (0 when none). */
    absmax: optional(finiteNumber(0)),
    /** Slots allocated by a padded format (Padded-CSR): padding is capacity − nnz. */
    capacity: optional(integer(0)),
  },
  layerSampleCounts,
)
export interface LayerSample extends v.InferOutput<typeof LayerSampleSchema> {}

export const SampleRecordSchema = laterRecord('sample', {
  layers: arrayOf(LayerSampleSchema, { max: MAX_LAYERS }),
  /** Milliseconds the profiler spent taking this sample. */
  cost_ms: finiteNumber(0),
  /** Recent training step time in milliseconds, `null` before two steps were seen. */
  step_ms: nullable(finiteNumber(0)),
  /**
   * Training scalars the user passed with each step (loss, accuracy, …): name → the mean of the values passed
   * since the previous sample, this sample's step included, or null when one of them was NaN or ±Inf (a
   * diverged loss; JSON has no NaN). At most MAX_SCALARS names of 1 to MAX_SCALAR_NAME_CHARS characters.
   * Absent when none were passed in that window, and in logs of older profilers.
   */
  scalars: optional(recordOf(nullable(finiteNumber()), { maxKeys: MAX_SCALARS, keyChars: MAX_SCALAR_NAME_CHARS })),
})
export interface SampleRecord extends v.InferOutput<typeof SampleRecordSchema> {}

export const EventRecordSchema = laterRecord(
  'event',
  {
    layer: nonEmptyString(),
    op: oneOf(['drop', 'grow']),
    count: integer(0),
    /** True when counted by hooking the algorithm, false when inferred from a mask diff. */
    exact: bool(),
    algorithm: nonEmptyString(),
    /** What the algorithm asked for, when known (hooked algorithms only). */
    requested: nullable(integer(0)),
    /** Where: how many of `count` fell in each output row, when the algorithm is hooked per position. */
    rows: nullable(arrayOf(integer(0), { max: MAX_EVENT_ROWS })),
    /** On grow events: how many of the grown positions the layer's previous drop had removed (regrowth). */
    regrown: optional(integer(0)),
  },
  eventRows,
)
export interface EventRecord extends v.InferOutput<typeof EventRecordSchema> {}
export type TopologyOp = EventRecord['op']

export const SamplerRecordSchema = laterRecord('sampler', {
  every: integer(1),
  /** Profiler time over training time that triggered the change. */
  overhead: finiteNumber(0),
})
/** The adaptive sampler changed the interval: from this step on, one sample every `every` steps. */
export interface SamplerRecord extends v.InferOutput<typeof SamplerRecordSchema> {}

export const LayerRecordSchema = laterRecord(
  'layer',
  {
    /** The layer's name, as in samples. */
    layer: nonEmptyString(),
    /**
     * The layer's full new description (`info.name` is `layer`), or null when it is no longer profiled (it
     * left the model). A layer the run record did not list is added to the run's layers.
     */
    info: nullable(LayerInfoSchema),
    /** Why, for people: e.g. "mask removed (torch_prune → inferred_zeros)"; at most MAX_REASON_CHARS. */
    reason: text(MAX_REASON_CHARS),
  },
  layerRecordInfo,
)
/**
 * A profiled layer's storage changed under the profiler (a mask removed or applied, its dtype or device
 * changed, the module left or joined the model): from `step` on, `info` describes it.
 */
export interface LayerRecord extends v.InferOutput<typeof LayerRecordSchema> {}

/** A plugin metric's limits: each sample's value above `warn_above` or below `warn_below` is flagged. */
export const MetricRecordSchema = laterRecord('metric', {
  name: text(MAX_SCALAR_NAME_CHARS),
  warn_above: nullable(finiteNumber()),
  warn_below: nullable(finiteNumber()),
})
export interface MetricRecord extends v.InferOutput<typeof MetricRecordSchema> {}

export const EndRecordSchema = laterRecord('end', { status: oneOf(['finished', 'crashed', 'interrupted']) })
export interface EndRecord extends v.InferOutput<typeof EndRecordSchema> {}
export type EndStatus = EndRecord['status']

export type WireRecord = RunRecord | SampleRecord | EventRecord | SamplerRecord | LayerRecord | MetricRecord | EndRecord

/** The schema of each record type, by its `type`. */
export const RECORD_SCHEMAS = {
  run: RunRecordSchema,
  sample: SampleRecordSchema,
  event: EventRecordSchema,
  sampler: SamplerRecordSchema,
  layer: LayerRecordSchema,
  metric: MetricRecordSchema,
  end: EndRecordSchema,
} as const satisfies Record<WireRecord['type'], v.GenericSchema>

/*
 * How a field is declared: valibot schemas that fail with our messages (`expected …, got …`) and name the
 * same fields as the hand-written validator before them did. Each builder is marked free of side effects,
 * so a bundle that validates nothing (the dashboard's) drops every schema above, and valibot with them;
 * they live in this file because bundlers honour the mark only for calls inside the declaring module.
 */

/* @__NO_SIDE_EFFECTS__ */
function expected(what: string) {
  return (issue: v.BaseIssue<unknown>): string => `expected ${what}, got ${describe(issue.input)}`
}

/** A JSON object: not null, not an array (which valibot's object schemas would take for one). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A finite number, at least `min` when given. */
/* @__NO_SIDE_EFFECTS__ */
function finiteNumber(min?: number) {
  // 1e999 parses to Infinity: say "finite" rather than "≥ 0", which Infinity would seem to satisfy.
  const notFinite = expected('a finite number')
  const wrong = min === undefined ? notFinite : expected(`a number ≥ ${min}`)
  const number = v.number((issue) => (typeof issue.input === 'number' ? notFinite : wrong)(issue)) // NaN is a number to JavaScript
  return min === undefined ? v.pipe(number, v.finite(notFinite)) : v.pipe(number, v.finite(notFinite), v.minValue(min, wrong))
}

/** A safe integer, at least `min`. */
/* @__NO_SIDE_EFFECTS__ */
function integer(min = 0) {
  const wrong = expected(`an integer ≥ ${min}`)
  return v.pipe(v.number(wrong), v.safeInteger(wrong), v.minValue(min, wrong))
}

/** A string with at least one character. */
/* @__NO_SIDE_EFFECTS__ */
function nonEmptyString() {
  const wrong = expected('a non-empty string')
  return v.pipe(v.string(wrong), v.minLength(1, wrong))
}

// Code points, as Python's len() and JSON Schema's maxLength count: an emoji is one character, not two UTF-16 units.
function codePoints(s: string, max: number): number {
  return s.length <= max ? s.length : s.length > 2 * max ? s.length : [...s].length
}

/** A non-empty string of at most `max` characters (code points). */
/* @__NO_SIDE_EFFECTS__ */
function text(max: number) {
  const wrong = expected(`a non-empty string of at most ${max} characters`)
  return v.pipe(
    v.string(wrong),
    v.minLength(1, wrong),
    // valibot's maxLength counts UTF-16 units; the check counts code points and the metadata says so to JSON Schema
    v.check((s) => codePoints(s, max) <= max, wrong),
    v.metadata({ maxLength: max }),
  )
}

/** A string matching `pattern`, described as `what` in errors. */
/* @__NO_SIDE_EFFECTS__ */
function matching(pattern: RegExp, what: string) {
  const wrong = expected(what)
  return v.pipe(v.string(wrong), v.regex(pattern, wrong))
}

/** One of the given strings. */
/* @__NO_SIDE_EFFECTS__ */
function oneOf<const T extends readonly [string, ...string[]]>(options: T) {
  return v.picklist(options, expected(`one of ${options.map((o) => JSON.stringify(o)).join(', ')}`))
}

/** Exactly `value`, typed as any number (a run record's seq is 0, yet a `number` like every seq). */
/* @__NO_SIDE_EFFECTS__ */
function exactly(value: number) {
  const wrong = expected(`one of ${value}`)
  return v.pipe(v.number(wrong), v.value(value, wrong))
}

/** The literal `type` of a record. */
/* @__NO_SIDE_EFFECTS__ */
function tag<const T extends string>(type: T) {
  return v.literal(type, expected(`one of ${JSON.stringify(type)}`))
}

/** true or false. */
/* @__NO_SIDE_EFFECTS__ */
function bool() {
  return v.boolean(expected('true or false'))
}

/** A finite number, a string, a boolean or null, as algorithm parameters are. */
/* @__NO_SIDE_EFFECTS__ */
function scalar() {
  const wrong = expected('a number, string, boolean or null')
  return v.union([v.pipe(v.number(), v.finite(wrong)), v.string(), v.boolean(), v.null()], wrong)
}

/**
 * An array of `min` to `max` items. The length is checked before the items, so an oversized array is
 * refused without visiting them; the metadata states the same bounds to JSON Schema.
 */
/* @__NO_SIDE_EFFECTS__ */
function arrayOf<const T extends v.GenericSchema>(item: T, { min = 0, max }: { min?: number; max: number }) {
  const inBounds = (a: unknown): a is unknown[] => Array.isArray(a) && a.length >= min && a.length <= max
  const wrong = (issue: v.BaseIssue<unknown>) =>
    Array.isArray(issue.input) ? `expected between ${min} and ${max} items, got ${issue.input.length}` : expected('an array')(issue)
  const items = v.array(item)
  const bounds = v.metadata<v.InferOutput<typeof items>, Record<string, unknown>>({ minItems: min, maxItems: max })
  return v.pipe(v.custom<unknown[]>(inBounds, wrong), items, bounds)
}

/**
 * An object with exactly these fields, checked in this order (an `optional` field may be absent),
 * then, once all of them fit, by `rule`: one of the cross-field rules.
 */
/* @__NO_SIDE_EFFECTS__ */
function object<const T extends v.ObjectEntries>(entries: T, rule?: Rule<v.InferOutput<v.StrictObjectSchema<T, undefined>>>) {
  const fields = v.strictObject(entries, (issue) => (issue.expected === 'never' ? 'is not a field of this record' : 'is missing'))
  const refine = v.rawCheck<v.InferOutput<typeof fields>>(({ dataset, addIssue }) => {
    const failure = dataset.typed && rule ? rule(dataset.value) : null
    if (!failure) return
    let at: unknown = dataset.value
    const path = failure.path.map((key) => {
      const input = at as Record<string | number, unknown>
      at = input[key]
      return { type: 'unknown' as const, origin: 'value' as const, input, key, value: at }
    })
    addIssue({ message: failure.message, input: at, path: path as [v.IssuePathItem, ...v.IssuePathItem[]] })
  })
  // the guard first: valibot's object schemas would take an array for an object
  return v.pipe(v.custom<v.InferInput<typeof fields>>(isObject, expected('an object')), fields, refine)
}

/**
 * An object whose values are all `value`; the first key holding a bad value is named. With `keys`, at most
 * `maxKeys` keys of 1 to `keyChars` characters (code points), checked before the values and failing at the
 * object itself, as JSON Schema's `maxProperties` and `propertyNames` (which the metadata states) do.
 */
/* @__NO_SIDE_EFFECTS__ */
function recordOf<const T extends v.GenericSchema>(value: T, keys?: { maxKeys: number; keyChars: number }) {
  const keyLimits = v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
    if (!dataset.typed || !keys) return
    const names = Object.keys(dataset.value)
    if (names.length > keys.maxKeys) return addIssue({ message: `expected at most ${keys.maxKeys} keys, got ${names.length}` })
    const bad = names.find((k) => k.length === 0 || codePoints(k, keys.keyChars) > keys.keyChars)
    if (bad !== undefined) addIssue({ message: `expected keys of 1 to ${keys.keyChars} characters, got ${describe(bad)}` })
  })
  const keyBounds = v.metadata<Record<string, unknown>, Record<string, unknown>>(
    keys ? { maxProperties: keys.maxKeys, propertyNames: { type: 'string', minLength: 1, maxLength: keys.keyChars } } : {},
  )
  const skippedKey = v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
    if (!dataset.typed) return
    const input = dataset.value
    const key = Object.keys(input).find((k) => !v.is(value, input[k]))
    // valibot's record skips these keys (its output is a copy, which they could poison); the input keeps them
    if (key === undefined || !['__proto__', 'prototype', 'constructor'].includes(key)) return // none bad, or the record below names it
    const [issue] = v.safeParse(value, input[key]).issues!
    addIssue({ message: issue.message, input: input[key], path: [{ type: 'object', origin: 'value', input, key, value: input[key] }] })
  })
  const fields = v.record(v.string(), value)
  return v.pipe(v.custom<Record<string, unknown>>(isObject, expected('an object')), keyLimits, skippedKey, fields, keyBounds)
}

/** May be absent, as in logs of older profilers; when present, must fit. */
/* @__NO_SIDE_EFFECTS__ */
function optional<const T extends v.GenericSchema>(wrapped: T) {
  return v.exactOptional(wrapped)
}

/** `null`, or a value that fits. */
/* @__NO_SIDE_EFFECTS__ */
function nullable<const T extends v.GenericSchema>(wrapped: T) {
  return v.nullable(wrapped)
}

/** A run id: it becomes a folder name on disk. */
/* @__NO_SIDE_EFFECTS__ */
function runId() {
  return matching(RUN_ID_PATTERN, 'a run id (letters, digits, ".", "_", "-"; at most 128; no "..")')
}

/** A record after the run record: it opens with type, run, seq (≥ 1: only the run record has seq 0), step and time. */
/* @__NO_SIDE_EFFECTS__ */
function laterRecord<const T extends string, const E extends v.ObjectEntries>(
  type: T,
  entries: E,
  rule?: Rule<v.InferOutput<v.StrictObjectSchema<E, undefined>>>,
) {
  const head = { type: tag(type), run: runId(), seq: integer(1), step: integer(0), time: finiteNumber(0) }
  return object<typeof head & E>({ ...head, ...entries }, rule)
}
