import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { RunStore, formatNdjsonError, parseNdjson, type RunSnapshot } from '@sparselab-profiler/core'

/** File name of a run log inside its run directory. */
export const RECORDS_FILE = 'records.ndjson'

/** Accepts a run directory or its records.ndjson. */
export function runLogPath(path: string): string {
  return statSync(path).isDirectory() ? join(path, RECORDS_FILE) : path
}

/**
 * Loads a run log into a snapshot. A torn last line (the writer was killed mid-write) is ignored;
 * any other bad line is an error naming the file, line and field.
 * @example readRunLog('sparsity_runs/20261129-231835-digits-3fd3').samples.length
 */
export function readRunLog(path: string, store = new RunStore({ maxSampleBytesPerRun: Infinity, maxEventsPerRun: Infinity, maxEventBytesPerRun: Infinity })): RunSnapshot {
  const file = runLogPath(path)
  let text = readFileSync(file, 'utf8')
  if (!text.endsWith('\n')) text = text.slice(0, text.lastIndexOf('\n') + 1)
  const parsed = parseNdjson(text)
  if (!parsed.ok) throw new Error(`${file}: ${formatNdjsonError(parsed.error)}`)
  const first = parsed.records[0]
  if (!first || first.type !== 'run') throw new Error(`${file}: line 1 must be the run record`)
  store.restore(parsed.records)
  return store.snapshot(first.run)!
}
