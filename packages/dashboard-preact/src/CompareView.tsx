import { useMemo } from 'preact/hooks'
import {
  HEATMAP_LAYER_THRESHOLD,
  STEP_DOMAIN,
  compareLinesSpec,
  compareRuns,
  comparedDomain,
  differenceSpec,
  formatCount,
  runLabel,
  sparsityDifferenceMatrix,
  summaryRows,
  type Flag,
  type LiveOverview,
  type RunComparison,
  type RunSummary,
  type StepAlignment,
  type StepDomain,
} from '@sparselab-profiler/core'
import { CompareInspector } from './CompareInspector.js'
import { RunKey } from './RunKey.js'
import type { LiveRunObserver, LiveRunState } from './LiveRunObserver.js'
import type { RunsClient } from './runsClient.js'
import { SparsityHeatmap } from './SparsityHeatmap.js'
import type { UrlState } from './urlState.js'
import { useComparedRun } from './useComparedRun.js'
import { VegaChart } from './VegaChart.js'

/** One run of the comparison as the page holds it. */
export interface ComparedLiveRun {
  run: string
  data: LiveOverview | null
  status: LiveRunState['status']
  error: string | null
  observer: LiveRunObserver | undefined
  flags: Flag[]
}

export interface CompareViewProps {
  client: RunsClient
  /** Run A, as the page already follows it. */
  primary: ComparedLiveRun
  /** Runs B, C, D: at most MAX_COMPARED_RUNS − 1 (three slots, each followed live). */
  compare: readonly string[]
  /** The server's run list, for each run's status. */
  runs: readonly RunSummary[] | null
  align: StepAlignment
  zoom: [number, number] | undefined
  layer: string | undefined
  step: number | undefined
  onChange: (change: Partial<UrlState>) => void
}

/** A share on the axis: whole steps, or fractions to 1/10,000 (what the URL keeps), rounded outwards. */
function roundZoom([lo, hi]: [number, number], align: StepAlignment): [number, number] {
  return align === 'step' ? [Math.floor(lo), Math.ceil(hi)] : [Math.floor(lo * 1e4) / 1e4, Math.ceil(hi * 1e4) / 1e4]
}

/** The largest |delta| of the matrices, rounded up to 1, 2 or 5 × 10ⁿ (at least 0.1%): a scale that holds still while a run grows. */
function niceExtent(matrices: readonly { delta: (number | null)[][] }[]): number {
  let largest = 0
  for (const m of matrices) for (const row of m.delta) for (const v of row) if (v !== null && Math.abs(v) > largest) largest = Math.abs(v)
  for (let power = 1e-3; ; power *= 10) for (const m of [1, 2, 5]) if (largest <= m * power || power >= 1) return Math.min(1, m * power)
}

/**
 * Runs compared, each kept live by its own LiveRunObserver and its flags refetched as it grows: the summary side
 * by side (differing parameters highlighted), the layers only some runs have, the runs overlaid (sparsity and
 * churn, a colour per layer and a dash per run) with their differences from run A below, on one x axis (steps,
 * or the fraction of each run's training) that one zoom serves, and the compare inspector.
 */
export function CompareView({ client, primary, compare, runs, align, zoom, layer, step, onChange }: CompareViewProps) {
  // One slot per possible compared run (MAX_COMPARED_RUNS − 1 = 3): hooks are called alike on every render.
  const b = useComparedRun(client, compare[0])
  const c = useComparedRun(client, compare[1])
  const d = useComparedRun(client, compare[2])
  const all: ComparedLiveRun[] = [primary, ...[b, c, d].slice(0, compare.length).map((r, i) => ({ ...r, run: compare[i]! }))]
  const datas = all.map((r) => r.data)
  const ready = datas.every((v): v is LiveOverview => v !== null)

  const layerLists = datas.map((v) => v?.run.layers)
  const shared = useMemo(() => {
    if (!ready) return []
    const lists = (datas as LiveOverview[]).map((v) => new Set(v.run.layers.map((l) => l.name)))
    return (datas[0] as LiveOverview).run.layers.map((l) => l.name).filter((name) => lists.every((set) => set.has(name)))
  }, layerLists)
  const perLayer = shared.length > 0 && shared.length <= HEATMAP_LAYER_THRESHOLD
  const inspected = layer !== undefined && shared.includes(layer) ? layer : shared[0]

  const comparison = useMemo<RunComparison | null>(
    () =>
      ready
        ? compareRuns(
            (datas as LiveOverview[]).map((overview, i) => ({ overview, flags: all[i]!.flags })),
            align,
            // past the threshold the page draws the model's lines and a matrix: per-layer points only of the inspected layer
            { layers: perLayer ? shared : inspected === undefined ? [] : [inspected] },
          )
        : null,
    [...datas, ...all.map((r) => r.flags), align, perLayer, shared, inspected],
  )
  const matrices = useMemo(() => (ready && !perLayer && shared.length > 0 ? sparsityDifferenceMatrix(datas as LiveOverview[], align) : []), [...datas, align, perLayer, shared.length])
  const extent = useMemo(() => niceExtent(matrices), [matrices])

  const named = useMemo(() => all.map((r) => ({ run: r.run, name: r.data?.run.name ?? r.run })), [all.map((r) => `${r.run}\n${r.data?.run.name}`).join('\n')])
  const fullDomain: StepDomain = comparison ? comparedDomain(comparison.modelSparsity.length ? comparison.modelSparsity : comparison.churn) : [0, 1]
  const domain = zoom ?? fullDomain
  const signals = { [STEP_DOMAIN.lo]: domain[0], [STEP_DOMAIN.hi]: Math.max(domain[1], domain[0] + (align === 'fraction' ? 1e-9 : 1)) }
  const byFraction = align === 'fraction'
  const at = byFraction ? 'at the same fraction of training' : 'at the same step'
  const later = named.slice(1).map((_, i) => runLabel(i + 1)).join(', ')
  const minus = named.length > 2 ? `${later} − A` : 'B − A'

  const sharedPoints = useMemo(() => comparison?.sparsity.filter((p) => perLayer || p.layer === inspected) ?? [], [comparison, perLayer, inspected])
  const sparsityChart = useMemo(
    () =>
      perLayer
        ? compareLinesSpec(sharedPoints, {
            title: 'Per-layer sparsity',
            subtitle: 'One colour per layer, one dash per run (drag across to zoom)',
            yTitle: 'Sparsity',
            format: '.0%',
            runs: named,
            layers: shared,
            alignment: align,
            domain: [0, 1],
            zoom: true,
          })
        : compareLinesSpec(comparison?.modelSparsity ?? [], {
            title: 'Model sparsity',
            subtitle: `All ${formatCount(shared.length)} shared layers together, one dash per run (drag across to zoom)`,
            yTitle: 'Sparsity',
            format: '.1%',
            runs: named,
            alignment: align,
            domain: [0, 1],
            zoom: true,
          }),
    [perLayer, sharedPoints, comparison?.modelSparsity, named, shared, align],
  )
  const sharedSet = useMemo(() => new Set(shared), [shared])
  const churnPoints = useMemo(() => comparison?.churn.filter((p) => !perLayer || sharedSet.has(p.layer)) ?? [], [comparison, perLayer, sharedSet])
  const churnChart = useMemo(
    () =>
      compareLinesSpec(churnPoints, {
        title: 'Topology churn',
        subtitle: 'Share of active connections each update rewired; one dash per run',
        yTitle: 'Rewired',
        format: '.2~%',
        runs: named,
        ...(perLayer ? { layers: shared } : {}),
        alignment: align,
        domain: [0, 1],
        zoom: true,
        points: true,
      }),
    [churnPoints, named, perLayer, shared, align],
  )
  const sparsityDifference = useMemo(
    () =>
      differenceSpec(perLayer ? (comparison?.sparsityDifference ?? []) : [], {
        title: `Sparsity difference: ${minus}`,
        subtitle: `Above 0: sparser than A ${at}`,
        yTitle: 'Sparsity difference',
        format: '+.2~%',
        layers: shared,
        runs: named,
        alignment: align,
        domain: [0, 1],
      }),
    [perLayer, comparison?.sparsityDifference, minus, at, shared, named, align],
  )
  const churnDifference = useMemo(
    () =>
      differenceSpec(comparison?.churnDifference.filter((p) => !perLayer || sharedSet.has(p.layer)) ?? [], {
        title: `Churn difference: ${minus}`,
        subtitle: `Above 0: rewired more than A ${at}`,
        yTitle: 'Churn difference',
        format: '+.2~%',
        ...(perLayer ? { layers: shared } : {}),
        runs: named,
        alignment: align,
        domain: [0, 1],
      }),
    [comparison?.churnDifference, perLayer, sharedSet, minus, at, shared, named, align],
  )
  const rows = useMemo(() => (comparison ? summaryRows(comparison) : []), [comparison])
  const onZoom = (range: [number, number]) => onChange({ zoom: roundZoom(range, align), step: undefined })
  const statusOf = (r: ComparedLiveRun) =>
    r.data?.end ? `run ${r.data.end.status}` : runs?.find((s) => s.run === r.run)?.status === 'interrupted' ? 'interrupted' : r.status
  const stillTraining = all.some((r) => r.data && !r.data.end)

  return (
    <div class="slp-compare" data-compare-runs={all.length}>
      <div class="slp-section-head">
        <h2>Comparing {all.length} runs</h2>
        <div class="slp-align" role="radiogroup" aria-label="Line the runs up by">
          <span>Line up by</span>
          <label>
            <input type="radio" name="slp-align" value="step" checked={!byFraction} onChange={() => onChange({ align: undefined, zoom: undefined, step: undefined })} /> training step
          </label>
          <label>
            <input type="radio" name="slp-align" value="fraction" checked={byFraction} onChange={() => onChange({ align: 'fraction', zoom: undefined, step: undefined })} /> fraction of training
          </label>
        </div>
      </div>
      {byFraction && stillTraining && <p class="slp-note">A run still training is measured against its latest step, so its points move left as it goes on.</p>}
      {/* run A's error the page shows above */}
      {all.map((r, i) =>
        r.error && i > 0 ? (
          <p class="slp-error" key={r.run}>
            Cannot load run {runLabel(i)} ({r.run}): {r.error}
          </p>
        ) : null,
      )}
      {!ready && !all.some((r) => r.error) && <p class="slp-empty">Loading the compared runs…</p>}
      {comparison && (
        <>
          <div class="slp-table-wrap">
            <table class="slp-table slp-compare-table" aria-label="Compared runs side by side">
              <thead>
                <tr>
                  <th scope="col">
                    <span class="slp-note">differing rows marked ≠</span>
                  </th>
                  {all.map((r, i) => (
                    <th scope="col" key={r.run} data-run={r.run}>
                      <RunKey index={i} /> {named[i]!.name}
                      <span class="slp-note slp-run-id">
                        {' '}
                        {r.run} · {statusOf(r)}
                      </span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.slice(1).map((row) => (
                  <tr key={row.label} class={row.differs ? 'slp-differs' : undefined} data-differs={row.differs ? 'true' : undefined}>
                    <th scope="row">
                      {row.differs && (
                        <span class="slp-differs-mark" title="differs between the runs">
                          ≠{' '}
                        </span>
                      )}
                      {row.label}
                    </th>
                    {row.cells.map((cell, i) => (
                      <td key={i}>{cell}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <OnlyIn comparison={comparison} names={named} />
          {zoom && (
            <p class="slp-zoom" role="status">
              {byFraction ? 'Training' : 'Steps'} {formatX(zoom[0], align)}–{formatX(zoom[1], align)} of {formatX(fullDomain[0], align)}–{formatX(fullDomain[1], align)}{' '}
              <button type="button" onClick={() => onChange({ zoom: undefined })}>
                Reset zoom
              </button>
            </p>
          )}
          <section>
            <h2>Sparsity</h2>
            <VegaChart name="compare-sparsity" spec={sparsityChart} data={sparsityChart.datasets as Record<string, object[]>} signals={signals} onZoom={onZoom} empty="No samples yet." />
            {perLayer ? (
              <VegaChart
                name="compare-sparsity-difference"
                spec={sparsityDifference}
                data={sparsityDifference.datasets as Record<string, object[]>}
                signals={signals}
                empty={`No ${minus} difference yet: it needs samples of both at the same point.`}
              />
            ) : shared.length === 0 ? (
              <p class="slp-empty" data-difference="none">
                The runs share no layer by name: there is no per-layer difference to draw.
              </p>
            ) : (
              matrices.map((m, k) => (
                <figure class="slp-figure slp-difference-map" key={m.run}>
                  <figcaption>
                    <b>
                      Per-layer sparsity difference: {runLabel(k + 1)} − A
                    </b>{' '}
                    <span class="slp-note">
                      {named[k + 1]!.name} minus {named[0]!.name} {at}; click a row to inspect the layer
                    </span>
                  </figcaption>
                  <SparsityHeatmap
                    name={`compare-sparsity-difference-${runLabel(k + 1)}`}
                    layers={m.layers}
                    steps={m.x}
                    sparsity={m.delta}
                    layer={inspected}
                    onLayer={(name) => onChange({ layer: name, step: undefined })}
                    diverging={{ title: `${runLabel(k + 1)} − A`, extent, below: `${runLabel(k + 1)} denser`, above: `${runLabel(k + 1)} sparser` }}
                    axis={align}
                    domain={domain}
                  />
                </figure>
              ))
            )}
          </section>
          <section>
            <h2>Topology dynamics</h2>
            <VegaChart
              name="compare-churn"
              spec={churnChart}
              data={churnChart.datasets as Record<string, object[]>}
              signals={signals}
              onZoom={onZoom}
              empty="No topology updates in these runs yet: churn appears with the first drop or grow."
            />
            <VegaChart
              name="compare-churn-difference"
              spec={churnDifference}
              data={churnDifference.datasets as Record<string, object[]>}
              signals={signals}
              empty={`No churn difference yet: it needs topology updates of A and of ${later}.`}
            />
          </section>
          <CompareInspector
            runs={all.map((r, i) => ({ run: r.run, name: named[i]!.name, observer: r.observer, steps: comparison.summary[i]!.steps }))}
            layers={shared}
            layer={inspected}
            onLayer={(name) => onChange({ layer: name, step: undefined })}
            step={step}
            onStep={(s) => onChange({ step: s })}
            align={align}
            signals={signals}
            comparison={comparison}
          />
        </>
      )}
    </div>
  )
}

/** A point of the compare axis as text: a step, or a percentage of training. */
function formatX(x: number, align: StepAlignment): string {
  return align === 'step' ? formatCount(x) : `${Number((x * 100).toFixed(2))}%`
}

/** Layers only some runs have, under each run's key: listed, never silently left out of the charts' shared layers. */
function OnlyIn({ comparison, names }: { comparison: RunComparison; names: readonly { run: string; name: string }[] }) {
  const listed = comparison.onlyIn.map((o, i) => ({ ...o, index: i })).filter((o) => o.layers.length > 0)
  if (!listed.length) return <p class="slp-note" data-only-in="none">{`Every run has the same ${formatCount(comparison.sharedLayers.length)} layers.`}</p>
  return (
    <details class="slp-only-in" open={listed.every((o) => o.layers.length <= 12)}>
      <summary>
        Layers not in every run, left out of the charts: {listed.map((o) => `${runLabel(o.index)} has ${formatCount(o.layers.length)}`).join(', ')} (
        {formatCount(comparison.sharedLayers.length)} shared layers compared below)
      </summary>
      <ul>
        {listed.map((o) => (
          <li key={o.run} data-only-in={o.run}>
            <RunKey index={o.index} /> {names[o.index]!.name}: <span class="slp-layer-list">{o.layers.join(', ')}</span>
          </li>
        ))}
      </ul>
    </details>
  )
}
