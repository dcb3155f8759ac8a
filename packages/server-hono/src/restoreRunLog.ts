import { join } from 'node:path'
import type { RunStore, WireRecord } from '@sparselab-profiler/core'
import { RECORDS_FILE } from '@sparselab-profiler/export'
import { readLogTailOf, type LogTail } from './logTail.js'
import { JOURNAL_FILE } from './runJournal.js'
import { runLogBatches } from './runLogBatches.js'

/** One of a run folder's logs: the training process's `records.ndjson` or the server's journal. */
export interface RunLog {
  name: typeof RECORDS_FILE | typeof JOURNAL_FILE
  file: string
  tail: LogTail
}

/**
 * The logs present in a run folder, the one whose last record has the highest seq first (on a tie the
 * training process's own log).
 * @example runLogsByLength('sparsity_runs/run-1')[0]?.file // 'sparsity_runs/run-1/received.ndjson'
 */
export function runLogsByLength(runDir: string): RunLog[] {
  const logs: RunLog[] = []
  for (const name of [RECORDS_FILE, JOURNAL_FILE] as const) {
    const file = join(runDir, name)
    const tail = readLogTailOf(file)
    if (tail) logs.push({ name, file, tail })
  }
  return logs.sort((a, b) => lastSeqOf(b) - lastSeqOf(a))
}

function lastSeqOf(log: RunLog): number {
  return log.tail.last?.seq ?? -1
}

/**
 * Restores `run` from one of its logs into `store`, streaming it in batches (`store.restore`, so
 * nothing is persisted again); `onRestored` sees each batch once stored. Throws on a bad line or a
 * record of another run, after restoring the batches before it.
 */
export async function restoreRunLog(
  store: RunStore,
  file: string,
  run: string,
  onRestored?: (records: WireRecord[]) => void,
): Promise<void> {
  let first = true
  for await (const records of runLogBatches(file)) {
    if (first && records[0]!.type !== 'run') throw new Error(`${file}: line 1 must be the run record`)
    first = false
    const stranger = records.find((record) => record.run !== run)
    if (stranger) throw new Error(`${file}: seq ${stranger.seq} is a record of run "${stranger.run}", not of this folder's run "${run}"`)
    store.restore(records)
    onRestored?.(records)
  }
}
