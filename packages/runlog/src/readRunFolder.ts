import { RunStore, type FlagThresholdsInput, type RunSnapshot } from '@sparselab-profiler/core'
import { restoreRunLog, runLogsOf } from './restoreRunLog.js'

export interface ReadRunFolderOptions {
  /** The run to read. @default the run of the log read (a copied or renamed run folder still reads) */
  run?: string
  /** Flag thresholds over the defaults; the run record's own win. @default {} */
  flagThresholds?: FlagThresholdsInput
}

/**
 * What one read may hold of a run: every sample of any ordinary run; beyond it, older samples thinned
 * evenly, so a run too large for memory (1000 layers sampled 10,000 times) cannot exhaust the heap.
 */
const SAMPLE_BYTES = 512 * 2 ** 20
const EVENT_BYTES = 128 * 2 ** 20

/**
 * A run's whole history from disk, streamed in batches: from a run folder, whichever of the trainer's
 * `records.ndjson` and the server's `received.ndjson` holds more, the other filling in from where the
 * first stopped should it have a bad line; or from one log file named on its own. A torn last line
 * (its writer was killed mid-write) is ignored. Resolves to undefined when there is no log at `path`;
 * throws, naming the file, line and field, when no log reads to its end. Past 512 MiB of samples the
 * older ones come back thinned, as `thinning` says.
 * @example (await readRunFolder('sparsity_runs/run-1'))?.samples.length
 */
export async function readRunFolder(path: string, options: ReadRunFolderOptions = {}): Promise<RunSnapshot | undefined> {
  const logs = runLogsOf(path)
  let run = options.run ?? logs[0]?.tail.last?.run
  const store = new RunStore({ maxSampleBytesPerRun: SAMPLE_BYTES, maxEventsPerRun: Infinity, maxEventBytesPerRun: EVENT_BYTES, flagThresholds: options.flagThresholds })
  let failure: unknown
  for (const log of logs) {
    try {
      run = await restoreRunLog(store, log.file, run)
      failure = undefined
      break
    } catch (error) {
      failure ??= error
    }
  }
  if (failure) throw failure
  return run === undefined ? undefined : store.snapshot(run)
}
