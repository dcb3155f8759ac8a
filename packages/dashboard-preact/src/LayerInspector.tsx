import { useMemo, useState } from 'preact/hooks'
import {
  DATASET,
  STEP_DOMAIN,
  bandRows,
  bandsSpec,
  churnRows,
  churnSpec,
  comparedHistogramRows,
  eventsSpec,
  formatBytes,
  formatCount,
  formatPercent,
  histogramSpec,
  itopSpec,
  layerExplorationRows,
  memoryVsDense,
  metricRows,
  metricSpec,
  nnzBefore,
  regrowthRows,
  regrowthSpec,
  type StepDomain,
} from '@sparselab-profiler/core'
import type { LiveRunObserver } from './LiveRunObserver.js'
import { pointAt } from './pointAt.js'
import { useLayerHistory } from './useLayerHistory.js'
import { VegaChart } from './VegaChart.js'
import { LayerPicker } from './LayerPicker.js'
import { StepSlider } from './StepSlider.js'

export interface LayerInspectorProps {
  /** The run whose live records the layer's history follows. */
  live: LiveRunObserver
  layers: string[]
  layer: string
  onLayer: (layer: string) => void
  /** The step whose histogram is shown (the nearest sample at or before it); undefined follows the newest. */
  step: number | undefined
  onStep: (step: number | undefined) => void
  /** The step range the page's charts show. */
  domain: StepDomain
  /** While updates are paused: the newest step on show; later points are held back. */
  untilStep: number | null
}

/**
 * One layer in depth: its numbers as text, its non-zero histogram at a chosen step and its distribution
 * over time, its churn and drop/grow timeline, and how far it explored (ITOP, mask distance, regrowth). Its
 * history is fetched for the chosen layer only and then follows the live run.
 */
export function LayerInspector({ live, layers, layer, onLayer, step, onStep, domain, untilStep }: LayerInspectorProps) {
  const { history, error } = useLayerHistory({ live, layer })
  const [compare, setCompare] = useState(false)
  const points = useMemo(
    () => (history ? (untilStep === null ? history.points : history.points.filter((p) => p.step <= untilStep)) : []),
    [history, untilStep],
  )
  const index = step === undefined ? points.length - 1 : pointAt(points, step)
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
  const bands = useMemo(() => bandRows(points.map((p) => ({ ...p, layer }))), [points, layer])
  const churn = useMemo(() => churnRows(layerEvents, nnzBefore(points)), [layerEvents, points])
  const explored = useMemo(() => layerExplorationRows(points), [points])
  const itopRows = useMemo(() => explored.filter((r) => r.itop !== null), [explored])
  const regrowth = useMemo(() => regrowthRows(layerEvents), [layerEvents])
  const specs = useMemo(
    () => ({
      histogram: histogramSpec([], { layer }),
      bands: bandsSpec([], { layer, domain: [0, 1] }),
      churn: churnSpec([], { layer, domain: [0, 1] }),
      events: eventsSpec([], { layer, domain: [0, 1] }),
      itop: itopSpec([], { layer, domain: [0, 1] }),
      regrowth: regrowthSpec([], { layer, domain: [0, 1] }),
    }),
    [layer],
  )
  // at the step shown: this sample's exploration, and the last update at or before it
  const exploredNow = stats && explored.find((r) => r.step === stats.step)
  const regrownNow = stats && regrowth.filter((r) => r.step <= stats.step).at(-1)
  const metrics = useMemo(() => metricRows(points.map((p) => ({ ...p, name: layer }))), [points, layer])
  const metricNames = useMemo(() => [...new Set(metrics.map((r) => r.name))], [metrics])
  const metricSpecs = useMemo(() => metricNames.map((name) => metricSpec([], { name, domain: [0, 1], layer })), [metricNames.join('\n'), layer])
  const signals = { [STEP_DOMAIN.lo]: domain[0], [STEP_DOMAIN.hi]: Math.max(domain[1], domain[0] + 1) }
  const drops = layerEvents.filter((e) => e.op === 'drop').reduce((n, e) => n + e.count, 0)
  const grows = layerEvents.filter((e) => e.op === 'grow').reduce((n, e) => n + e.count, 0)

  return (
    <section class="slp-inspector" aria-label="Layer inspector">
      <LayerPicker title="Layer inspector" layers={layers} noun="layers" layer={layer} onLayer={onLayer} />
      {error && <p class="slp-error">Cannot load layer {layer}: {error}</p>}
      {stats && (
        <dl class="slp-stats" data-inspector-stats>
          <div>
            <dt>Sparsity</dt>
            <dd data-stat="layer-sparsity">{formatPercent(stats.sparsity)}</dd>
          </div>
          <div>
            <dt>Active weights</dt>
            <dd data-stat="layer-nnz">
              {formatCount(stats.nnz)} / {formatCount(stats.numel)}
            </dd>
          </div>
          <div>
            <dt>Memory against dense</dt>
            <dd data-stat="layer-memory">
              {memoryVsDense(stats.bytes, stats.dense_bytes)}
            </dd>
            <dd class="slp-note">
              {formatBytes(stats.bytes)} used, {formatBytes(stats.dense_bytes)} dense
            </dd>
          </div>
          <div>
            <dt>Dropped / grown so far</dt>
            <dd data-stat="layer-events">
              {formatCount(drops)} / {formatCount(grows)}
            </dd>
          </div>
          <div>
            <dt>NaN / Inf</dt>
            <dd>{stats.nonfinite}</dd>
          </div>
          {explored.length > 0 && (
            <div>
              <dt>Ever active (ITOP)</dt>
              <dd data-stat="layer-itop">{exploredNow?.itop == null ? '–' : formatPercent(exploredNow.itop)}</dd>
              {stats.active_ever !== undefined && <dd class="slp-note">{`${formatCount(stats.active_ever)} of ${formatCount(stats.numel)} weights so far`}</dd>}
            </div>
          )}
          {explored.length > 0 && (
            <div>
              <dt>Mask distance</dt>
              <dd data-stat="layer-mask-distance">{exploredNow?.maskDistance == null ? '–' : formatPercent(exploredNow.maskDistance)}</dd>
              <dd class="slp-note">
                {stats.mask_changed === undefined ? 'from the next sample on' : `${formatCount(stats.mask_changed)} positions changed since the last sample`}
              </dd>
            </div>
          )}
          {regrowth.length > 0 && (
            <div>
              <dt>Regrown (last update)</dt>
              <dd data-stat="layer-regrowth">{regrownNow ? formatPercent(regrownNow.share) : '–'}</dd>
              {regrownNow && (
                <dd class="slp-note">{`${formatCount(regrownNow.regrown)} of ${formatCount(regrownNow.grown)} grown at step ${formatCount(regrownNow.step)}, dropped by the update before`}</dd>
              )}
            </div>
          )}
        </dl>
      )}
      {points.length > 0 && (
        <div class="slp-controls">
          <StepSlider label={`Step ${stats ? formatCount(stats.step) : ''}`} points={points} index={index} onStep={onStep} />
          <label>
            <input type="checkbox" checked={compare} onChange={() => setCompare(!compare)} /> compare with the first step
          </label>
        </div>
      )}
      <div class="slp-pair">
        {stats && <VegaChart name="histogram" spec={specs.histogram} data={{ [DATASET.histogram]: histogram }} />}
        <VegaChart name="bands" spec={specs.bands} data={{ [DATASET.bands]: bands }} signals={signals} empty="No non-zero weights sampled yet." />
      </div>
      <div class="slp-pair">
        <VegaChart name="layer-churn" spec={specs.churn} data={{ [DATASET.churn]: churn }} signals={signals} empty={`No topology updates of ${layer} yet.`} />
        <VegaChart name="layer-events" spec={specs.events} data={{ [DATASET.events]: layerEvents }} signals={signals} empty={`No topology updates of ${layer} yet.`} />
      </div>
      {(itopRows.length > 0 || regrowth.length > 0) && (
        <div class="slp-pair">
          {itopRows.length > 0 && <VegaChart name="layer-itop" spec={specs.itop} data={{ [DATASET.exploration]: itopRows }} signals={signals} />}
          {regrowth.length > 0 && <VegaChart name="layer-regrowth" spec={specs.regrowth} data={{ [DATASET.regrowth]: regrowth }} signals={signals} />}
        </div>
      )}
      {metricSpecs.length > 0 && (
        <div class="slp-pair">
          {metricSpecs.map((spec, i) => (
            <VegaChart key={metricNames[i]} name={`metric-${metricNames[i]}`} spec={spec} data={{ [DATASET.metrics]: metrics }} signals={signals} />
          ))}
        </div>
      )}
    </section>
  )
}
