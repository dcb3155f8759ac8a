import type { NdjsonError } from './parseNdjson.js'
import type { WireRecord } from './schema.js'

/**
 * Why a batch of valid records cannot be stored as a whole:
 * - `repeated-seq`: one (run, seq) twice in the same batch; a sender batches distinct lines of its log, so
 *   this is a broken sender (a seq repeated across batches is a normal resend, answered with the ack).
 * - `unknown-run`: records of a run that neither the store nor this batch has a `run` record (seq 0) for;
 *   the sender must resend from seq 0.
 */
export interface BatchProblem extends NdjsonError {
  kind: 'repeated-seq' | 'unknown-run'
  run: string
}

/**
 * Checks a parsed batch as a whole; null when the store can take it.
 * @param lines the 1-based line of each record (`parseNdjson`'s `lines`)
 * @param isKnownRun whether the store already holds the run's `run` record
 * @example checkBatch(parsed.records, parsed.lines, (run) => store.has(run))
 */
export function checkBatch(
  records: readonly WireRecord[],
  lines: readonly number[],
  isKnownRun: (run: string) => boolean,
): BatchProblem | null {
  const opened = new Set(records.filter((r) => r.type === 'run').map((r) => r.run))
  const seenAt = new Map<string, Map<number, number>>()
  for (let i = 0; i < records.length; i++) {
    const { run, seq } = records[i]!
    const line = lines[i]!
    if (!opened.has(run) && !isKnownRun(run))
      return { kind: 'unknown-run', run, line, path: 'run', message: `run ${JSON.stringify(run)} is unknown here: send its run record (seq 0) first` }
    const seqs = seenAt.get(run) ?? new Map<number, number>()
    seenAt.set(run, seqs)
    const earlier = seqs.get(seq)
    if (earlier !== undefined)
      return { kind: 'repeated-seq', run, line, path: 'seq', message: `seq ${seq} of run ${JSON.stringify(run)} repeats line ${earlier} of this batch` }
    seqs.set(seq, line)
  }
  return null
}
