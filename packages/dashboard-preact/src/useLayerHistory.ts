import { useEffect, useState } from 'preact/hooks'
import { decimateSamples, eventRows, layerPoint, type LayerHistory, type WireRecord } from '@sparselab-profiler/core'
import { authHeaders } from './api.js'
import type { LiveRun } from './useLiveRun.js'

/** Points the inspector asks for; it thins its own copy back to this when it holds twice as many. */
export const LAYER_POINTS = 500

export interface LayerHistoryState {
  history: LayerHistory | null
  error: string | null
  /** Increments whenever `history` grew in place. */
  version: number
}

/** Adds a live record to the layer's history; true when the history changed. */
function grow(history: LayerHistory, record: WireRecord): boolean {
  if (record.seq <= history.lastSeq) return false // already in what the server answered
  history.lastSeq = record.seq
  if (record.type === 'sample') {
    const point = layerPoint(record, history.layer)
    if (!point) return false
    history.points.push(point)
    if (history.points.length > 2 * LAYER_POINTS) history.points = decimateSamples(history.points, LAYER_POINTS)
    return true
  }
  if (record.type !== 'event' || record.layer !== history.layer) return false
  history.events.push(...eventRows([record]))
  return true
}

/**
 * One layer's history, fetched when the layer changes and then grown by the run's live records, so the
 * page never holds every layer's histograms at once.
 * @example const { history } = useLayerHistory({ url, live, layer: 'fc1' })
 */
export function useLayerHistory({ url, token, live, layer }: { url: string; token?: string; live: LiveRun; layer: string }): LayerHistoryState {
  const [state, setState] = useState<LayerHistoryState>({ history: null, error: null, version: 0 })

  useEffect(() => {
    let cancelled = false
    let history: LayerHistory | null = null
    const arrivedMeanwhile: WireRecord[] = []
    const listener = (record: WireRecord) => {
      if (!history) arrivedMeanwhile.push(record)
      else if (grow(history, record)) setState((s) => ({ ...s, version: s.version + 1 }))
    }
    live.listeners.add(listener)
    setState({ history: null, error: null, version: 0 })
    const address = `${url}/api/runs/${encodeURIComponent(live.run.run)}/layer?name=${encodeURIComponent(layer)}&points=${LAYER_POINTS}`
    void (async () => {
      try {
        const response = await fetch(address, { headers: authHeaders(token), cache: 'no-store' })
        const body = (await response.json()) as LayerHistory & { error?: string }
        if (!response.ok) throw new Error(body.error ?? `layer history answered ${response.status}`)
        if (cancelled) return
        history = body
        for (const record of arrivedMeanwhile) grow(history, record)
        setState({ history, error: null, version: 0 })
      } catch (error) {
        if (!cancelled) setState({ history: null, error: (error as Error).message, version: 0 })
      }
    })()
    return () => {
      cancelled = true
      live.listeners.delete(listener)
    }
  }, [url, token, live, layer])

  return state
}
