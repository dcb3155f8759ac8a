import { useMemo } from 'preact/hooks'
import { LiveRunObserver, type LiveRunState } from './LiveRunObserver.js'
import type { RunsClient } from './runsClient.js'
import { useSyncExternalStore } from './useSyncExternalStore.js'

export interface LiveRunResult extends LiveRunState {
  /** The run's observer, for what follows its records (`useLayerHistory`); undefined without a run. */
  observer: LiveRunObserver | undefined
}

const NO_RUN_STATE: LiveRunState = { data: null, status: 'loading', error: null }
const NO_RUN = { subscribe: () => () => {}, getSnapshot: () => NO_RUN_STATE }

/**
 * A run's live overview (see `LiveRunObserver`), re-rendering at most once per frame as records arrive.
 * @example const { data, status, observer } = useLiveRun({ client, run })
 */
export function useLiveRun({ client, run }: { client: RunsClient; run: string | undefined }): LiveRunResult {
  const observer = useMemo(() => (run === undefined ? undefined : new LiveRunObserver({ client, run })), [client, run])
  const store = observer ?? NO_RUN
  return { ...useSyncExternalStore(store.subscribe, store.getSnapshot), observer }
}
