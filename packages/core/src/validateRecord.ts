import * as v from 'valibot'
import { describe } from './describe.js'
import { RECORD_SCHEMAS, RUN_ID_PATTERN, SCHEMA_VERSION, isObject, type WireRecord } from './schema.js'

/** Outcome of validating one decoded JSON value against schema v1. */
export type Validation =
  | { ok: true; record: WireRecord }
  | { ok: false; path: string; message: string }

/**
 * Run ids become folder names on disk, so they are restricted to a safe alphabet.
 * @example isValidRunId('20261129-231500-digits-3f2a') // true
 */
export function isValidRunId(id: string): boolean {
  return RUN_ID_PATTERN.test(id)
}

// The first problem is the answer: stop there.
const FIRST_ISSUE = { abortEarly: true }

// A field path as people and the Python tests write it: `layers[1].aliases[0]`.
function pathOf(issue: v.BaseIssue<unknown>): string {
  let path = ''
  for (const { key } of issue.path ?? []) path = typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key)
  return path
}

/**
 * Checks a decoded JSON value against schema v1; the failure names the first bad field.
 * The value must be an object of a known `type`, and a `schema` other than ours is refused before any
 * other field; then the record's schema checks each field in order, and an object's cross-field rule
 * (crossFieldRules.ts) once its fields fit, so the first bad field is named as the vectors expect.
 * @example validateRecord(JSON.parse(line)) // { ok: false, path: 'layers[0].nnz', message: 'expected an integer ≥ 0, got -1' }
 */
export function validateRecord(value: unknown): Validation {
  if (!isObject(value)) return { ok: false, path: '', message: `expected a JSON object, got ${describe(value)}` }
  const { type } = value
  if (typeof type !== 'string' || !Object.hasOwn(RECORD_SCHEMAS, type)) {
    const types = Object.keys(RECORD_SCHEMAS).map((t) => JSON.stringify(t))
    return { ok: false, path: 'type', message: `expected one of ${types.join(', ')}, got ${describe(type)}` }
  }
  if ('schema' in value && value.schema !== SCHEMA_VERSION)
    return { ok: false, path: 'schema', message: `unsupported schema version ${describe(value.schema)}; this server speaks ${SCHEMA_VERSION}` }
  const result = v.safeParse(RECORD_SCHEMAS[type as WireRecord['type']], value, FIRST_ISSUE)
  // valibot's output is a copy; the record is the value itself, as it came
  if (result.success) return { ok: true, record: value as unknown as WireRecord }
  const [issue] = result.issues
  return { ok: false, path: pathOf(issue), message: issue.message }
}
