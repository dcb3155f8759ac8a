import { RunStore, type RunSnapshot } from '@sparselab-profiler/core'
import { restoreRunLog, runLogsByLength } from './restoreRunLog.js'

/** What an export may hold of one run: every sample of any ordinary run; beyond it, older samples thinned. */
const EXPORT_SAMPLE_BYTES = 512 * 2 ** 20
const EXPORT_EVENT_BYTES = 128 * 2 ** 20

/**
 * A run's history for exports (the live store keeps a smaller window), read from whichever of the run
 * folder's logs holds more records; undefined when neither can be read. Without `run`, the run is the
 * one the longer log records (a copied or renamed run folder still exports). A run too large for memory
 * (say 1000 layers sampled 10,000 times) comes back thinned evenly, as its `thinning` says, instead of
 * exhausting the server's heap.
 * @example (await readCompleteRun('sparsity_runs/run-1'))?.samples.length
 */
export async function readCompleteRun(runDir: string, run?: string): Promise<RunSnapshot | undefined> {
  const logs = runLogsByLength(runDir)
  const id = run ?? logs[0]?.tail.last?.run
  if (id === undefined) return undefined
  const store = new RunStore({ maxSampleBytesPerRun: EXPORT_SAMPLE_BYTES, maxEventsPerRun: Infinity, maxEventBytesPerRun: EXPORT_EVENT_BYTES })
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
