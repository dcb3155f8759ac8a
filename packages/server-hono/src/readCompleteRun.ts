import { RunStore, type RunSnapshot } from '@sparselab-profiler/core'
import { restoreRunLog, runLogsByLength } from './restoreRunLog.js'

/**
 * A run's whole history, for exports (the live store keeps a bounded window), read from whichever of
 * the run folder's logs holds more records; undefined when neither can be read. Without `run`, the run
 * is the one the longer log records (a copied or renamed run folder still exports).
 * @example (await readCompleteRun('sparsity_runs/run-1'))?.samples.length
 */
export async function readCompleteRun(runDir: string, run?: string): Promise<RunSnapshot | undefined> {
  const logs = runLogsByLength(runDir)
  const id = run ?? logs[0]?.tail.last?.run
  if (id === undefined) return undefined
  const store = new RunStore({ maxSampleBytesPerRun: Infinity, maxEventsPerRun: Infinity, maxEventBytesPerRun: Infinity })
  for (const log of logs) {
    try {
      await restoreRunLog(store, log.file, id)
      break
    } catch {
      // a bad line: the next log fills in from where this one stopped
    }
  }
  return store.snapshot(id)
}
