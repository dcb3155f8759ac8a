import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { isValidRunId, type RunStore, type WireRecord } from '@sparselab-profiler/core'
import { restoreRunLog, runLogsOf, type RunLog } from './restoreRunLog.js'
import { JOURNAL_FILE } from './runFiles.js'
import type { RunJournal } from './runJournal.js'

export interface LoadLogdirOptions {
  /**
   * The journal that new records of these runs will go to. A run that has a journal, whose training log
   * holds more and has not ended, gets the difference copied into the journal, so the journal can go on
   * from where the restored run stands with no gap; a run with no journal needs no copy (its trainer log
   * is its copy). @default undefined: nothing is written
   */
  journal?: RunJournal
}

/**
 * Restores every run folder under `logdir` into the store from whichever of its logs holds more
 * records (the training's `records.ndjson` or the server's `received.ndjson`); when that one has a bad
 * line, the other fills in from where it stopped. Returns the runs loaded and why a log was skipped.
 */
export async function loadLogdir(
  store: RunStore,
  logdir: string,
  options: LoadLogdirOptions = {},
): Promise<{ loaded: string[]; skipped: string[] }> {
  const loaded: string[] = []
  const skipped: string[] = []
  if (!existsSync(logdir)) return { loaded, skipped }
  for (const entry of readdirSync(logdir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !isValidRunId(entry.name)) continue
    const run = entry.name
    const logs = runLogsOf(join(logdir, run))
    for (const log of logs) {
      try {
        await restoreRunLog(store, log.file, run, options.journal && journalCatchUp(store, options.journal, run, log, logs))
        break
      } catch (error) {
        skipped.push((error as Error).message)
      }
    }
    if (store.has(run)) loaded.push(run)
  }
  return { loaded, skipped }
}

/**
 * Appends to the run's journal each restored record past its end; nothing when the run has no journal,
 * the journal is being read or the run is over.
 */
function journalCatchUp(store: RunStore, journal: RunJournal, run: string, log: RunLog, logs: RunLog[]) {
  const journaled = logs.find((l) => l.name === JOURNAL_FILE)
  if (!journaled || log === journaled || log.tail.last?.type === 'end') return undefined
  let next = (journaled.tail.last?.seq ?? -1) + 1
  return (records: WireRecord[]) => {
    const stored = store.ack(run)
    for (const record of records) {
      if (record.seq !== next || record.seq > stored) continue
      journal.append(record)
      next++
    }
  }
}
