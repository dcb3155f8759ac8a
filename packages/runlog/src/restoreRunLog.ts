import { statSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { RunStore, WireRecord } from '@sparselab-profiler/core'
import { readLogTailOf, type LogTail } from './logTail.js'
import { JOURNAL_FILE, RECORDS_FILE } from './runFiles.js'
import { runLogBatches } from './runLogBatches.js'

/** One log of a run: the training process's `records.ndjson`, the server's journal, or a log file named on its own. */
export interface RunLog {
  name: string
  file: string
  tail: LogTail
}

/**
 * The logs at `path`: a run folder's, the one whose last record has the highest seq first (on a tie the
 * training process's own log); a file alone; none when nothing is there.
 * @example runLogsOf('sparsity_runs/run-1')[0]?.file // 'sparsity_runs/run-1/received.ndjson'
 */
export function runLogsOf(path: string): RunLog[] {
  let folder: boolean
  try {
    folder = statSync(path).isDirectory()
  } catch {
    return []
  }
  const logs: RunLog[] = []
  for (const file of folder ? [join(path, RECORDS_FILE), join(path, JOURNAL_FILE)] : [path]) {
    const tail = readLogTailOf(file)
    if (tail) logs.push({ name: basename(file), file, tail })
  }
  return logs.sort((a, b) => lastSeqOf(b) - lastSeqOf(a))
}

function lastSeqOf(log: RunLog): number {
  return log.tail.last?.seq ?? -1
}

/**
 * Restores `run` (by default the run of the log's first record) from one log into `store`, streaming it
 * in batches (`store.restore`, so nothing is persisted again); `onRestored` sees each batch once stored.
 * Resolves to the run restored. Throws on a bad line or a record of another run, after restoring the
 * batches before it.
 */
export async function restoreRunLog(
  store: RunStore,
  file: string,
  run?: string,
  onRestored?: (records: WireRecord[]) => void,
): Promise<string | undefined> {
  let first = true
  for await (const records of runLogBatches(file)) {
    if (first && records[0]!.type !== 'run') throw new Error(`${file}: line 1 must be the run record`)
    first = false
    run ??= records[0]!.run
    const stranger = records.find((record) => record.run !== run)
    if (stranger) throw new Error(`${file}: seq ${stranger.seq} is a record of run "${stranger.run}", not of this folder's run "${run}"`)
    store.restore(records)
    onRestored?.(records)
  }
  return run
}
