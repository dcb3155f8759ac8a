import { eventRows } from './chartSpecs.js'
import { decimateSamples, layerPoint, type LayerHistory } from './runViews.js'
import type { WireRecord } from './schema.js'

/** Points a live page asks a layer's history for; `applyToLayerHistory` thins back to this once it holds twice as many. */
export const LAYER_POINTS = 500

export interface LayerHistoryOptions {
  /** The points are thinned evenly back to this many once twice as many are held. @default LAYER_POINTS */
  points?: number
}

/**
 * The layer's history with one more record of its run applied: a sample adds the layer's point, an event of
 * the layer its row; a record the history already holds (seq ≤ `lastSeq`) leaves it unchanged. Returns a new
 * object when the record is new, leaving `history` as it was; `points` and `events` are new arrays only when
 * they changed. Folding a run's later records onto a layer's history at its start gives the history of the
 * whole run (thinned to `points`).
 * @example history = applyToLayerHistory(history, record)
 */
export function applyToLayerHistory(history: LayerHistory, record: WireRecord, options: LayerHistoryOptions = {}): LayerHistory {
  if (record.seq <= history.lastSeq) return history
  const next = { ...history, lastSeq: record.seq }
  if (record.type === 'sample') {
    const point = layerPoint(record, history.layer)
    if (!point) return next
    const points = options.points ?? LAYER_POINTS
    const grown = [...history.points, point]
    return { ...next, points: grown.length > 2 * points ? decimateSamples(grown, points) : grown }
  }
  if (record.type === 'event' && record.layer === history.layer) return { ...next, events: [...history.events, ...eventRows([record])] }
  return next
}
