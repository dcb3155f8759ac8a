import { useMemo, useState } from 'preact/hooks'
import {
  DATASET,
  eventsSpec,
  formatBytes,
  formatPercent,
  histogramRows,
  histogramSpec,
  type EventRow,
  type SampleRecord,
} from '@sparselab-profiler/core'
import { VegaChart } from './VegaChart.js'

export interface LayerInspectorProps {
  layers: string[]
  layer: string
  onLayer: (layer: string) => void
  /** The samples on show (all of them, or those up to the pause). */
  samples: SampleRecord[]
  events: EventRow[]
}

/** One layer in depth: its numbers as text, its non-zero histogram at a chosen step, its drop/grow timeline. */
export function LayerInspector({ layers, layer, onLayer, samples, events }: LayerInspectorProps) {
  // null follows the newest sample; a number pins the slider to that sample
  const [pinned, setPinned] = useState<number | null>(null)
  const [compare, setCompare] = useState(false)
  const index = pinned === null ? samples.length - 1 : Math.min(pinned, samples.length - 1)
  const sample = samples[index]
  const stats = sample?.layers.find((l) => l.name === layer)
  const first = samples[0]?.layers.find((l) => l.name === layer)
  const histogram = useMemo(() => {
    if (!stats || !sample) return []
    const now = histogramRows(stats.hist, `step ${sample.step}`)
    return compare && first && samples[0] !== sample ? [...histogramRows(first.hist, `step ${samples[0]!.step}`), ...now] : now
  }, [stats, sample, compare, first])
  const layerEvents = useMemo(() => events.filter((e) => e.layer === layer), [events, events.length, layer])
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
      {stats && sample && (
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
      {samples.length > 0 && (
        <div class="slp-controls">
          <label>
            Step {sample?.step}{' '}
            <input
              type="range"
              aria-label="Histogram step"
              min={0}
              max={samples.length - 1}
              value={index}
              onInput={(e) => {
                const value = Number((e.target as HTMLInputElement).value)
                setPinned(value === samples.length - 1 ? null : value)
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
