import { useMemo, useState } from 'preact/hooks'
import {
  DATASET,
  comparedHistogramRows,
  eventsSpec,
  formatBytes,
  formatPercent,
  histogramSpec,
} from '@sparselab-profiler/core'
import type { LiveRunObserver } from './LiveRunObserver.js'
import { useLayerHistory } from './useLayerHistory.js'
import { VegaChart } from './VegaChart.js'

export interface LayerInspectorProps {
  /** The run whose live records the layer's history follows. */
  live: LiveRunObserver
  layers: string[]
  layer: string
  onLayer: (layer: string) => void
  /** While updates are paused: the newest step on show; later points are held back. */
  untilStep: number | null
}

/**
 * One layer in depth: its numbers as text, its non-zero histogram at a chosen step, its drop/grow
 * timeline. Its history is fetched for the chosen layer only and then follows the live run.
 */
export function LayerInspector({ live, layers, layer, onLayer, untilStep }: LayerInspectorProps) {
  const { history, error } = useLayerHistory({ live, layer })
  // null follows the newest point; a number pins the slider to that point
  const [pinned, setPinned] = useState<number | null>(null)
  const [compare, setCompare] = useState(false)
  const points = useMemo(
    () => (history ? (untilStep === null ? history.points : history.points.filter((p) => p.step <= untilStep)) : []),
    [history, untilStep],
  )
  const index = pinned === null ? points.length - 1 : Math.min(pinned, points.length - 1)
  const stats = points[index]
  const first = points[0]
  const histogram = useMemo(() => {
    if (!stats) return []
    const now = { hist: stats.hist, series: `step ${stats.step}` }
    // Each sample's histogram has its own range: compared steps are drawn on shared edges.
    const shown = compare && first && first !== stats ? [{ hist: first.hist, series: `step ${first.step}` }, now] : [now]
    return comparedHistogramRows(shown)
  }, [stats, compare, first])
  const layerEvents = useMemo(
    () => (history ? history.events.filter((e) => untilStep === null || e.step <= untilStep) : []),
    [history, untilStep],
  )
  const drops = layerEvents.filter((e) => e.op === 'drop').reduce((n, e) => n + e.count, 0)
  const grows = layerEvents.filter((e) => e.op === 'grow').reduce((n, e) => n + e.count, 0)

  return (
    <section class="slp-inspector" aria-label="Layer inspector">
      <h2>
        Layer inspector:{' '}
        <select value={layer} aria-label="Layer" onChange={(e) => onLayer((e.target as HTMLSelectElement).value)}>
          {layers.map((name) => (
            <option value={name} key={name}>
              {name}
            </option>
          ))}
        </select>
      </h2>
      {error && <p class="slp-error">Cannot load layer {layer}: {error}</p>}
      {stats && (
        <dl class="slp-stats" data-inspector-stats>
          <div>
            <dt>Sparsity</dt>
            <dd data-stat="layer-sparsity">{formatPercent(stats.sparsity)}</dd>
          </div>
          <div>
            <dt>NNZ</dt>
            <dd data-stat="layer-nnz">
              {stats.nnz.toLocaleString('en-US')} / {stats.numel.toLocaleString('en-US')}
            </dd>
          </div>
          <div>
            <dt>Memory vs dense</dt>
            <dd data-stat="layer-memory">
              {formatBytes(stats.bytes)} vs {formatBytes(stats.dense_bytes)} ({formatBytes(stats.bytes - stats.dense_bytes)})
            </dd>
          </div>
          <div>
            <dt>Dropped / grown so far</dt>
            <dd data-stat="layer-events">
              {drops.toLocaleString('en-US')} / {grows.toLocaleString('en-US')}
            </dd>
          </div>
          <div>
            <dt>NaN / Inf</dt>
            <dd>{stats.nonfinite}</dd>
          </div>
        </dl>
      )}
      {points.length > 0 && (
        <div class="slp-controls">
          <label>
            Step {stats?.step}{' '}
            <input
              type="range"
              aria-label="Histogram step"
              min={0}
              max={points.length - 1}
              value={index}
              onInput={(e) => {
                const value = Number((e.target as HTMLInputElement).value)
                setPinned(value === points.length - 1 ? null : value)
              }}
            />
          </label>
          <label>
            <input type="checkbox" checked={compare} onChange={() => setCompare(!compare)} /> compare with the first step
          </label>
        </div>
      )}
      <div class="slp-pair">
        {stats && <VegaChart name="histogram" spec={histogramSpec([], { layer })} data={{ [DATASET.histogram]: histogram }} />}
        <VegaChart name="events" spec={eventsSpec([], { layer })} data={{ [DATASET.events]: layerEvents }} />
      </div>
    </section>
  )
}
