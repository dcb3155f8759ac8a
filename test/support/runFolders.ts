/**
 * Run folders for the tests of packages/runlog, built from the shared vectors: a logdir holding given
 * files, lines of valid.ndjson as a log's text, and every seq a snapshot holds.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunSnapshot } from '@sparselab-profiler/core'
import { VALID_LINES } from './vectors.js'

/** Seq of the end record, the last line of valid.ndjson. */
export const VECTOR_END = VALID_LINES.length - 1

/**
 * A new logdir holding `files`, each `'<run>/<name>': text`.
 * @example logdirWith({ [`${VECTOR_RUN}/records.ndjson`]: vectorLog(0, 3) })
 */
export function logdirWith(files: Record<string, string>): string {
  const logdir = mkdtempSync(join(tmpdir(), 'slp-logdir-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(logdir, path, '..'), { recursive: true })
    writeFileSync(join(logdir, path), text)
  }
  return logdir
}

/** Lines `from` to `to` of valid.ndjson as a log's text, each ending with a newline. */
export function vectorLog(from: number, to: number): string {
  return `${VALID_LINES.slice(from, to + 1).join('\n')}\n`
}

/** Every seq `snapshot` holds, sorted. */
export function seqsOf(snapshot: RunSnapshot): number[] {
  const { run, samples, events, sampler, layerChanges, metrics, end } = snapshot
  return [run.seq, ...[...samples, ...events, ...sampler, ...layerChanges, ...metrics].map((r) => r.seq), ...(end ? [end.seq] : [])].sort((a, b) => a - b)
}
