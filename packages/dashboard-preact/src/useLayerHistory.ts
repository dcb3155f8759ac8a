import { useMemo } from 'preact/hooks'
import { LayerHistoryObserver, type LayerHistoryState } from './LayerHistoryObserver.js'
import type { LiveRunObserver } from './LiveRunObserver.js'
import { useSyncExternalStore } from './useSyncExternalStore.js'

/**
 * One layer's history, fetched when the layer changes and then grown by the run's live records (see `LayerHistoryObserver`).
 * @example const { history } = useLayerHistory({ live: observer, layer: 'fc1' })
 */
export function useLayerHistory({ live, layer }: { live: LiveRunObserver; layer: string }): LayerHistoryState {
  const observer = useMemo(() => new LayerHistoryObserver({ live, layer }), [live, layer])
  return useSyncExternalStore(observer.subscribe, observer.getSnapshot)
}
