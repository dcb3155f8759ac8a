import type { Flag } from '@sparselab-profiler/core'
import { useFlags } from './FlagsPanel.js'
import type { RunsClient } from './runsClient.js'
import { useLiveRun, type LiveRunResult } from './useLiveRun.js'

export interface ComparedRunResult extends LiveRunResult {
  flags: Flag[]
}

/**
 * A run of a comparison, kept live as the page keeps its own run: its overview grown by its stream
 * (`useLiveRun`) and its flags fetched again as its records arrive (`useFlags`). Without a run, nothing.
 * @example const b = useComparedRun(client, compare[0])
 */
export function useComparedRun(client: RunsClient, run: string | undefined): ComparedRunResult {
  const live = useLiveRun({ client, run })
  const flags = useFlags(client, run, live.data?.lastSeq)
  return { ...live, flags }
}
