import type { RunStore, WireRecord } from '@sparselab-profiler/core'
import { CompanionRun, type CompanionRunOptions } from './CompanionRun.js'

export interface ForwardStoreOptions extends Omit<CompanionRunOptions, 'finalFiles' | 'skipStored'> {
  /** Files for a run's W&B run once it ended (its log, its report). */
  finalFiles?: (run: string) => Promise<{ name: string; bytes: Uint8Array }[]>
}

export interface StoreForwarding {
  /** The companion run of each run received since forwarding started. */
  readonly runs: ReadonlyMap<string, CompanionRun>
  /** Stops every companion after its request in flight (their W&B runs stay incomplete). */
  stop(): Promise<void>
}

/**
 * Forwards every run the store receives from now on to W&B, each as a companion run of its own. A run first
 * seen mid-way (the server restarted while it trained) starts from the store's run record and continues the
 * W&B run's history; what the stopped server had received but not yet sent is not forwarded (the run log
 * has it). Storing never waits on W&B.
 * @example const forwarding = forwardStore(server.store, { api, project: 'sparse-training' })
 */
export function forwardStore(store: RunStore, options: ForwardStoreOptions): StoreForwarding {
  const runs = new Map<string, CompanionRun>()
  const unsubscribe = store.subscribe((record: WireRecord) => {
    let companion = runs.get(record.run)
    if (!companion) {
      const { finalFiles, ...rest } = options
      companion = new CompanionRun({ ...rest, finalFiles: finalFiles && (() => finalFiles(record.run)) })
      runs.set(record.run, companion)
      const known = record.type === 'run' ? undefined : store.snapshot(record.run)?.run
      if (known) companion.add(known)
    }
    companion.add(record)
  })
  return {
    runs,
    async stop() {
      unsubscribe()
      await Promise.all([...runs.values()].map((companion) => companion.stop()))
    },
  }
}
