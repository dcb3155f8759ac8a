import { RunStore, type RunSnapshot } from '@sparselab-profiler/core'
import { restoreRunLog, runLogsByLength } from './restoreRunLog.js'

/**
 * A run's whole history, for exports (the live store keeps a bounded window), read from whichever of
 * the run folder's logs holds more records; undefined when neither can be read.
 * @example (await readCompleteRun('sparsity_runs/run-1', 'run-1'))?.samples.length
 */
export async function readCompleteRun(runDir: string, run: string): Promise<RunSnapshot | undefined> {
  const store = new RunStore({ maxSampleBytesPerRun: Infinity, maxEventsPerRun: Infinity, maxEventBytesPerRun: Infinity })
  for (const log of runLogsByLength(runDir)) {
    try {
      await restoreRunLog(store, log.file, run)
      break
    } catch {
      // a bad line: the next log fills in from where this one stopped
    }
  }
  return store.snapshot(run)
}
