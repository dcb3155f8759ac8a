/**
 * The shared wire-record vectors (test/vectors/README.md), read once for every TypeScript test: unit tests
 * import this file by relative path, e2e tests from `../support/vectors.js`. Python's twin is
 * python/tests/conftest.py. Reads files only: no other side effects, so any test may import it.
 */
import { readFileSync } from 'node:fs'

const read = (name: string) => readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')

/** valid.ndjson exactly as on disk: a complete run log of schema v1 holding every record type. */
export const VALID_TEXT = read('valid.ndjson')

/** The lines of valid.ndjson, one record each, seq 0 to 7 in order. */
export const VALID_LINES: readonly string[] = VALID_TEXT.trim().split('\n')

/** The run id every valid record carries. */
export const VECTOR_RUN = (JSON.parse(VALID_LINES[0]!) as { run: string }).run

/**
 * The records of valid.ndjson, parsed afresh on each call so a test may change them.
 * @example const [run, sample] = validRecords<WireRecord>()
 */
export function validRecords<T = Record<string, unknown>>(): T[] {
  return VALID_LINES.map((line) => JSON.parse(line) as T)
}

/** One case of invalid.ndjson: `record` must be refused, naming exactly `path`. */
export interface InvalidVector {
  case: string
  path: string
  record: unknown
}

/** The cases of invalid.ndjson, parsed afresh on each call. */
export function invalidVectors(): InvalidVector[] {
  return read('invalid.ndjson').trim().split('\n').map((line) => JSON.parse(line) as InvalidVector)
}

/** One case of wandb.json: a run log's records in order and the W&B rows forwarded from them. */
export interface WandbVector {
  name: string
  every: number
  max_layers: number
  records: unknown[]
  rows: Record<string, unknown>[]
}

/** The cases of wandb.json (record → W&B row), parsed afresh on each call. */
export function wandbVectors(): WandbVector[] {
  return (JSON.parse(read('wandb.json')) as { cases: WandbVector[] }).cases
}

/** The alert cases of wandb.json: a flag (core's `Flag`) and the title and text of its W&B alert. */
export function wandbAlertVectors<Flag>(): { flag: Flag; title: string; text: string }[] {
  return (JSON.parse(read('wandb.json')) as { alerts: { flag: Flag; title: string; text: string }[] }).alerts
}

/** The rest_alerts cases of wandb.json: the critical flags past the alert limit and their one alert. */
export function wandbRestAlertVectors<Flag>(): { flags: Flag[]; title: string; text: string }[] {
  return (JSON.parse(read('wandb.json')) as { rest_alerts: { flags: Flag[]; title: string; text: string }[] }).rest_alerts
}
