import { useMemo } from 'preact/hooks'
import { LayerHistoryObserver, type LayerHistoryState } from './LayerHistoryObserver.js'
import type { LiveRunObserver } from './LiveRunObserver.js'
import { useSyncExternalStore } from './useSyncExternalStore.js'

const NO_LAYER_STATE: LayerHistoryState = { history: null, error: null }
const NO_LAYER = { subscribe: () => () => {}, getSnapshot: () => NO_LAYER_STATE }

/**
 * One layer's history, fetched when the layer changes and then grown by the run's live records (see `LayerHistoryObserver`);
 * without a run or a layer, none (a hook a page calls once per slot, whether the slot holds a run or not).
 * @example const { history } = useLayerHistory({ live: observer, layer: 'fc1' })
 */
export function useLayerHistory({ live, layer }: { live: LiveRunObserver | undefined; layer: string | undefined }): LayerHistoryState {
  const observer = useMemo(() => (live && layer !== undefined ? new LayerHistoryObserver({ live, layer }) : undefined), [live, layer])
  const store = observer ?? NO_LAYER
  return useSyncExternalStore(store.subscribe, store.getSnapshot)
}
