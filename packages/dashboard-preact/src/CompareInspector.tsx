import { useMemo, useState } from 'preact/hooks'
import {
  alignedAxis,
  compareLinesSpec,
  comparedEventsSpec,
  comparedHistogramRows,
  comparedHistogramSpec,
  differenceSpec,
  formatCount,
  formatPercent,
  runLabel,
  type ComparedEventRow,
  type LayerHistory,
  type LayerPoint,
  type RunComparison,
  type StepAlignment,
} from '@sparselab-profiler/core'
import type { LiveRunObserver } from './LiveRunObserver.js'
import { matchedStep, pointAt } from './pointAt.js'
import { RunKey } from './RunKey.js'
import { useLayerHistory } from './useLayerHistory.js'
import { VegaChart } from './VegaChart.js'
import { LayerPicker } from './LayerPicker.js'
import { StepSlider } from './StepSlider.js'

export interface CompareInspectorProps {
  /** The compared runs, A first: each one's observer (whose records grow its layer history) and its steps (end or latest). */
  runs: readonly { run: string; name: string; observer: LiveRunObserver | undefined; steps: number }[]
  /** The layers every run has: the ones that can be compared. */
  layers: readonly string[]
  layer: string | undefined
  onLayer: (layer: string) => void
  /** Run A's step whose histograms are shown (the nearest sample at or before it); undefined follows the newest. */
  step: number | undefined
  onStep: (step: number | undefined) => void
  align: StepAlignment
  /** The page's shared x domain params. */
  signals: Record<string, number>
  comparison: RunComparison
}

/**
 * One shared layer across the compared runs: each run's numbers at matched steps, their histograms drawn over
 * each other on shared bin edges (a colour per run), their drops and grows on one axis, and the layer's
 * sparsity in each run with its difference from A. Each run's layer history is fetched for this layer only and
 * then follows that run live.
 */
export function CompareInspector({ runs, layers, layer, onLayer, step, onStep, align, signals, comparison }: CompareInspectorProps) {
  // One slot per possible run (MAX_COMPARED_RUNS = 4): hooks are called alike on every render.
  const histories = [
    useLayerHistory({ live: runs[0]?.observer, layer }),
    useLayerHistory({ live: runs[1]?.observer, layer }),
    useLayerHistory({ live: runs[2]?.observer, layer }),
    useLayerHistory({ live: runs[3]?.observer, layer }),
  ].slice(0, runs.length)
  const pointsOf = histories.map((h) => h.history?.points ?? [])
  const reference = pointsOf[0]!
  const index = step === undefined ? reference.length - 1 : Math.max(0, pointAt(reference, step))
  const stepA = reference[index]?.step
  // each run's sample at A's step, matched by step or by fraction of training
  const shown: (LayerPoint | undefined)[] = pointsOf.map((points, i) =>
    stepA === undefined ? undefined : points[pointAt(points, matchedStep(stepA, { align, from: runs[0]!.steps, to: runs[i]!.steps }))],
  )
  const series = runs.map((r, i) => `${runLabel(i)}: ${r.name}`)
  const histogram = useMemo(
    () => {
      const given = shown.flatMap((p, i) => (p ? [{ hist: p.hist, series: series[i]! }] : []))
      return given.length ? comparedHistogramRows(given) : []
    },
    [...shown, series.join('\n')],
  )
  const eventRows = useMemo<ComparedEventRow[]>(
    () =>
      histories.flatMap((h, i) => {
        const x = alignedAxis(runs[i]!.steps, align)
        return (h.history?.events ?? []).map((e) => ({ run: runs[i]!.run, layer: e.layer, step: e.step, x: x(e.step), op: e.op, count: e.count, signed: e.signed }))
      }),
    [...histories.map((h) => h.history), align, runs.map((r) => `${r.run}:${r.steps}`).join('\n')],
  )
  const named = useMemo(() => runs.map((r) => ({ run: r.run, name: r.name })), [runs.map((r) => `${r.run}\n${r.name}`).join('\n')])
  const minus = runs.length > 2 ? `${runs.slice(1).map((_, i) => runLabel(i + 1)).join(', ')} − A` : 'B − A'
  const at = align === 'fraction' ? 'at the same fraction of training' : 'at the same step'
  const specs = useMemo(() => {
    const of = layer ?? ''
    return {
      histogram: comparedHistogramSpec(histogram, { title: `Weights of ${of}`, subtitle: 'Share of non-zero weights per bin; bins shared by the runs', series }),
      events: comparedEventsSpec(eventRows, { title: `Drops and grows · ${of}`, subtitle: 'Connections grown per update above 0, dropped below', runs: named, alignment: align, domain: [0, 1] }),
      sparsity: compareLinesSpec(
        comparison.sparsity.filter((p) => p.layer === layer),
        { title: `Sparsity · ${of}`, subtitle: 'One dash per run', yTitle: 'Sparsity', format: '.2~%', runs: named, alignment: align, domain: [0, 1], points: true, legend: true },
      ),
      difference: differenceSpec(
        comparison.sparsityDifference.filter((p) => p.layer === layer),
        { title: `Sparsity difference · ${of}: ${minus}`, subtitle: `Above 0: sparser than A ${at}`, yTitle: 'Sparsity difference', format: '+.2~%', runs: named, alignment: align, domain: [0, 1] },
      ),
    }
  }, [layer, histogram, series.join('\n'), eventRows, named, align, comparison, minus, at])

  if (!layers.length)
    return (
      <section class="slp-inspector" aria-label="Layer inspector">
        <h2>Layer inspector</h2>
        <p class="slp-empty">The runs share no layer by name, so no layer can be compared.</p>
      </section>
    )

  const sumOf = (h: LayerHistory | null, op: 'drop' | 'grow', until: number | undefined) =>
    (h?.events ?? []).filter((e) => e.op === op && (until === undefined || e.step <= until)).reduce((n, e) => n + e.count, 0)

  return (
    <section class="slp-inspector" aria-label="Layer inspector">
      <LayerPicker title="Layer inspector · compared" layers={layers} noun="shared layers" layer={layer} onLayer={onLayer} />
      {histories.map((h, i) =>
        h.error ? (
          <p class="slp-error" key={runs[i]!.run}>
            Cannot load layer {layer} of run {runLabel(i)}: {h.error}
          </p>
        ) : null,
      )}
      <div class="slp-table-wrap">
        <table class="slp-table slp-compare-layer" aria-label={`Layer ${layer} in each run`}>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Step shown</th>
              <th scope="col">Sparsity</th>
              <th scope="col">Active weights</th>
              <th scope="col">Dropped / grown so far</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r, i) => {
              const p = shown[i]
              return (
                <tr key={r.run} data-run={r.run}>
                  <th scope="row">
                    <RunKey index={i} /> {r.name}
                  </th>
                  <td data-stat="compare-step">{p ? formatCount(p.step) : '–'}</td>
                  <td data-stat="compare-sparsity">{p ? formatPercent(p.sparsity) : '–'}</td>
                  <td>{p ? `${formatCount(p.nnz)} / ${formatCount(p.numel)}` : '–'}</td>
                  <td>
                    {formatCount(sumOf(histories[i]!.history, 'drop', p?.step))} / {formatCount(sumOf(histories[i]!.history, 'grow', p?.step))}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      {reference.length > 0 && (
        <div class="slp-controls">
          <StepSlider label={`A’s step ${stepA === undefined ? '' : formatCount(stepA)}`} points={reference} index={index} onStep={onStep} />
          <span class="slp-hint">the other runs at their sample at or before the {align === 'fraction' ? 'same fraction of training' : 'same step'}</span>
        </div>
      )}
      <div class="slp-pair slp-pair-wide">
        <VegaChart name="compare-histogram" spec={specs.histogram} data={specs.histogram.datasets as Record<string, object[]>} empty="No samples of this layer yet." />
        <VegaChart
          name="compare-layer-events"
          spec={specs.events}
          data={specs.events.datasets as Record<string, object[]>}
          signals={signals}
          empty={`No topology updates of ${layer} in these runs yet.`}
        />
      </div>
      <div class="slp-pair slp-pair-wide">
        <VegaChart name="compare-layer-sparsity" spec={specs.sparsity} data={specs.sparsity.datasets as Record<string, object[]>} signals={signals} empty="No samples of this layer yet." />
        <VegaChart
          name="compare-layer-difference"
          spec={specs.difference}
          data={specs.difference.datasets as Record<string, object[]>}
          signals={signals}
          empty={`No ${minus} difference of this layer yet.`}
        />
      </div>
    </section>
  )
}
