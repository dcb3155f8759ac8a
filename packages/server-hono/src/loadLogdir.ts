import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { isValidRunId, type RunStore } from '@sparselab-profiler/core'
import { RECORDS_FILE, readRunLog } from '@sparselab-profiler/export'

/**
 * Loads every run log under `logdir` into the store, so past runs can be reopened and exported.
 * Returns the run ids loaded and, per unreadable log, why it was skipped.
 */
export function loadLogdir(store: RunStore, logdir: string): { loaded: string[]; skipped: string[] } {
  const loaded: string[] = []
  const skipped: string[] = []
  if (!existsSync(logdir)) return { loaded, skipped }
  for (const entry of readdirSync(logdir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !isValidRunId(entry.name) || !existsSync(join(logdir, entry.name, RECORDS_FILE))) continue
    try {
      loaded.push(readRunLog(join(logdir, entry.name), store).run.run)
    } catch (error) {
      skipped.push((error as Error).message)
    }
  }
  return { loaded, skipped }
}
