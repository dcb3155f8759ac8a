import {
  MASK_SOURCES,
  MAX_DEVICE_CHARS,
  MAX_EVENT_ROWS,
  MAX_HISTOGRAM_BINS,
  MAX_LAYERS,
  MAX_REASON_CHARS,
  MAX_SHAPE_DIMS,
  SCHEMA_VERSION,
  STORAGE_FORMATS,
  type WireRecord,
} from './schema.js'

/** Outcome of validating one decoded JSON value against schema v1. */
export type Validation =
  | { ok: true; record: WireRecord }
  | { ok: false; path: string; message: string }

/**
 * Run ids become folder names on disk, so they are restricted to a safe alphabet.
 * @example isValidRunId('20261129-231500-digits-3f2a') // true
 */
export function isValidRunId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) && !id.includes('..')
}

// A check returns null when the value fits, or what was expected at `path`.
type Check = (value: unknown, path: string) => Failure | null
type Failure = { path: string; message: string }

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'object') return 'an object'
  return String(value)
}

const fail = (path: string, expected: string, value: unknown): Failure => ({
  path,
  message: `expected ${expected}, got ${describe(value)}`,
})

// 1e999 parses to Infinity: say "finite" rather than "≥ 0", which Infinity would seem to satisfy.
const num =
  (min = -Infinity): Check =>
  (v, p) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return fail(p, 'a finite number', v)
    return typeof v === 'number' && v >= min ? null : fail(p, min > -Infinity ? `a number ≥ ${min}` : 'a finite number', v)
  }

const int =
  (min = 0): Check =>
  (v, p) =>
    Number.isSafeInteger(v) && (v as number) >= min ? null : fail(p, `an integer ≥ ${min}`, v)

const str =
  (test: (s: string) => boolean = (s) => s.length > 0, what = 'a non-empty string'): Check =>
  (v, p) =>
    typeof v === 'string' && test(v) ? null : fail(p, what, v)

// Code points, as Python's len() counts them: an emoji is one character, not two UTF-16 units.
const codePoints = (s: string, max: number): number => (s.length <= max ? s.length : s.length > 2 * max ? s.length : [...s].length)
const text = (max: number): Check => str((s) => s.length > 0 && codePoints(s, max) <= max, `a non-empty string of at most ${max} characters`)

const bool: Check = (v, p) => (typeof v === 'boolean' ? null : fail(p, 'true or false', v))

const oneOf =
  (...allowed: readonly (string | number)[]): Check =>
  (v, p) =>
    allowed.includes(v as string) ? null : fail(p, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, v)

const nullable =
  (check: Check): Check =>
  (v, p) =>
    v === null ? null : check(v, p)

const arrayOf =
  (item: Check, { min = 0, max = Infinity } = {}): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'an array', v)
    if (v.length < min || v.length > max)
      return { path: p, message: `expected between ${min} and ${max} items, got ${v.length}` }
    for (let i = 0; i < v.length; i++) {
      const f = item(v[i], `${p}[${i}]`)
      if (f) return f
    }
    return null
  }

// A field that logs of older profilers lack: absent passes, present must fit.
const OPTIONAL = new WeakSet<Check>()
const optional = (check: Check): Check => {
  const marked: Check = (v, p) => check(v, p)
  OPTIONAL.add(marked)
  return marked
}

// Own keys only: a field named "constructor" or "toString" must not pass for a field of the shape.
const object =
  (shape: Record<string, Check>, refine?: (v: Record<string, unknown>, p: string) => Failure | null): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object', v)
    const record = v as Record<string, unknown>
    for (const [key, check] of Object.entries(shape)) {
      const at = p ? `${p}.${key}` : key
      if (!Object.hasOwn(record, key)) {
        if (OPTIONAL.has(check)) continue
        return { path: at, message: 'is missing' }
      }
      const f = check(record[key], at)
      if (f) return f
    }
    for (const key of Object.keys(record)) {
      if (!Object.hasOwn(shape, key)) return { path: p ? `${p}.${key}` : key, message: 'is not a field of this record' }
    }
    return refine ? refine(record, p) : null
  }

const histogram = object({ lo: num(), hi: num(), counts: arrayOf(int(0), { min: 1, max: MAX_HISTOGRAM_BINS }) }, (h, p) =>
  (h.lo as number) < (h.hi as number) ? null : { path: `${p}.hi`, message: `must be greater than lo (${h.lo})` },
)

const layerSample = object(
  {
    name: str(),
    nnz: int(0),
    numel: int(1),
    sparsity: num(0),
    bytes: int(0),
    dense_bytes: int(0),
    hist: histogram,
    nonfinite: int(0),
  },
  (l, p) => {
    const nnz = l.nnz as number
    const numel = l.numel as number
    if (nnz > numel) return { path: `${p}.nnz`, message: `must not exceed numel (${numel}), got ${nnz}` }
    if (Math.abs((l.sparsity as number) - (1 - nnz / numel)) > 1e-6)
      return { path: `${p}.sparsity`, message: `must equal 1 - nnz/numel (${1 - nnz / numel}), got ${l.sparsity}` }
    const counted = (l.hist as { counts: number[] }).counts.reduce((a, b) => a + b, 0)
    if (counted + (l.nonfinite as number) > nnz)
      return { path: `${p}.hist.counts`, message: `sum ${counted} plus nonfinite exceeds nnz (${nnz})` }
    return null
  },
)

const runId = str(isValidRunId, 'a run id (letters, digits, ".", "_", "-"; at most 128; no "..")')
const paramValue: Check = (v, p) =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
    ? null
    : fail(p, 'a number, string, boolean or null', v)
const params: Check = (v, p) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object', v)
  for (const [key, value] of Object.entries(v)) {
    const f = paramValue(value, `${p}.${key}`)
    if (f) return f
  }
  return null
}

const layerInfo = object({
  name: str(),
  shape: arrayOf(int(0), { max: MAX_SHAPE_DIMS }),
  numel: int(1),
  dtype: str(),
  format: oneOf(...STORAGE_FORMATS),
  mask_source: oneOf(...MASK_SOURCES),
  aliases: optional(arrayOf(str(), { max: MAX_LAYERS })),
  device: optional(text(MAX_DEVICE_CHARS)),
})

const RECORD_CHECKS: Record<WireRecord['type'], Check> = {
  run: object({
    type: oneOf('run'),
    run: runId,
    seq: oneOf(0),
    name: str(),
    started: num(0),
    schema: oneOf(SCHEMA_VERSION),
    host: str(),
    profiler: str(),
    algorithm: nullable(object({ name: str(), params })),
    layers: arrayOf(layerInfo, { max: MAX_LAYERS }),
    sampler: object({ every: int(1) }),
  }),
  sample: object({
    type: oneOf('sample'),
    run: runId,
    seq: int(1),
    step: int(0),
    time: num(0),
    layers: arrayOf(layerSample, { max: MAX_LAYERS }),
    cost_ms: num(0),
    step_ms: nullable(num(0)),
  }),
  event: object(
    {
      type: oneOf('event'),
      run: runId,
      seq: int(1),
      step: int(0),
      time: num(0),
      layer: str(),
      op: oneOf('drop', 'grow'),
      count: int(0),
      exact: bool,
      algorithm: str(),
      requested: nullable(int(0)),
      rows: nullable(arrayOf(int(0), { max: MAX_EVENT_ROWS })),
    },
    (e, p) => {
      const rows = e.rows as number[] | null
      if (rows === null) return null
      const total = rows.reduce((a, b) => a + b, 0)
      return total === e.count ? null : { path: p ? `${p}.rows` : 'rows', message: `must add up to count (${e.count}), got ${total}` }
    },
  ),
  sampler: object({
    type: oneOf('sampler'),
    run: runId,
    seq: int(1),
    step: int(0),
    time: num(0),
    every: int(1),
    overhead: num(0),
  }),
  layer: object(
    {
      type: oneOf('layer'),
      run: runId,
      seq: int(1),
      step: int(0),
      time: num(0),
      layer: str(),
      info: nullable(layerInfo),
      reason: text(MAX_REASON_CHARS),
    },
    (l, p) => {
      const info = l.info as { name: string } | null
      return info === null || info.name === l.layer
        ? null
        : { path: p ? `${p}.info.name` : 'info.name', message: `must equal layer (${describe(l.layer)}), got ${describe(info.name)}` }
    },
  ),
  end: object({
    type: oneOf('end'),
    run: runId,
    seq: int(1),
    step: int(0),
    time: num(0),
    status: oneOf('finished', 'crashed', 'interrupted'),
  }),
}

const RECORD_TYPES = Object.keys(RECORD_CHECKS).map((t) => JSON.stringify(t)).join(', ')

/**
 * Checks a decoded JSON value against schema v1; the failure names the first bad field.
 * @example validateRecord(JSON.parse(line)) // { ok: false, path: 'layers[0].nnz', message: 'expected an integer ≥ 0, got -1' }
 */
export function validateRecord(value: unknown): Validation {
  const type = (value as { type?: unknown } | null)?.type
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, path: '', message: `expected a JSON object, got ${describe(value)}` }
  if (typeof type !== 'string' || !Object.hasOwn(RECORD_CHECKS, type))
    return { ok: false, path: 'type', message: `expected one of ${RECORD_TYPES}, got ${describe(type)}` }
  if ('schema' in value && (value as { schema: unknown }).schema !== SCHEMA_VERSION)
    return { ok: false, path: 'schema', message: `unsupported schema version ${describe((value as { schema: unknown }).schema)}; this server speaks ${SCHEMA_VERSION}` }
  const failure = RECORD_CHECKS[type as WireRecord['type']](value, '')
  return failure ? { ok: false, ...failure } : { ok: true, record: value as WireRecord }
}
