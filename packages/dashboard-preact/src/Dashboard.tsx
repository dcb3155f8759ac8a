import { useEffect, useMemo, useState } from 'preact/hooks'
import {
  DATASET,
  HEATMAP_LAYER_THRESHOLD,
  MODEL_CHURN,
  STEP_DOMAIN,
  algorithmTarget,
  churnSpec,
  deriveTotals,
  describeSampling,
  describeSaving,
  eventsSpec,
  flagMarkRows,
  formatCount,
  formatPercent,
  intervalAt,
  itopSpec,
  liveLayerInfo,
  maskDistanceSpec,
  rollingOverhead,
  scalarSpec,
  sparsitySpec,
  type LiveOverview,
  type RunSummary,
  type StepDomain,
} from '@sparselab-profiler/core'
import { ComparePicker } from './ComparePicker.js'
import { CompareView } from './CompareView.js'
import { DASHBOARD_CSS } from './dashboardCss.js'
import { EmptyState } from './EmptyState.js'
import { ExportDialog } from './ExportDialog.js'
import { FlagsPanel, useFlags } from './FlagsPanel.js'
import { LayerInspector } from './LayerInspector.js'
import { LayerTable } from './LayerTable.js'
import { runsClient, type RunsClient } from './runsClient.js'
import { SparsityHeatmap } from './SparsityHeatmap.js'
import { StorageChanges } from './StorageChanges.js'
import { comparedRuns, readUrlState, writeUrlState, type UrlState } from './urlState.js'
import { useLiveRun } from './useLiveRun.js'
import { VegaChart } from './VegaChart.js'

export interface DashboardProps {
  /** Server base URL; '' means the page's own origin. */
  url: string
  /** Run to show first. @default the most recent run */
  run?: string
  /** Bearer token for a server started with --token. */
  token?: string
  /** Keep run, compared runs and their alignment, inspected layer, step and zoom in the page's URL (the served page does; an embedding page need not). */
  urlState?: boolean
}

function useRuns(client: RunsClient): RunSummary[] | null {
  const [runs, setRuns] = useState<RunSummary[] | null>(null)
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let cancelled = false
    const poll = async () => {
      try {
        const listed = await client.listRuns()
        if (!cancelled) setRuns(listed)
      } catch {
        // the server may be starting; the next poll tries again
      }
      if (!cancelled) timer = setTimeout(poll, 3000)
    }
    void poll()
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }, [client])
  return runs
}

/**
 * The live dashboard: run header, training scalars, per-layer sparsity, topology dynamics and exploration on
 * one step axis (drag across the sparsity lines to zoom), the layer inspector, pause and export; with runs
 * chosen under "Compare with…", the compare view of them all instead (see CompareView).
 * @example render(<Dashboard url="http://127.0.0.1:8080" />, element)
 */
export function Dashboard({ url, run, token, urlState = false }: DashboardProps) {
  const client = useMemo(() => runsClient({ url, token }), [url, token])
  const runs = useRuns(client)
  const [view, setView] = useState<UrlState>(() => ({ ...(urlState ? readUrlState(location.search) : {}), ...(run ? { run } : {}) }))
  const update = (change: Partial<UrlState>) => setView((state) => ({ ...state, ...change }))
  const activeRun = view.run ?? runs?.[0]?.run
  const compare = comparedRuns(activeRun, view.compare ?? [])
  const comparing = activeRun !== undefined && compare.length > 0
  const { data, status, error, observer } = useLiveRun({ client, run: activeRun })
  const flags = useFlags(client, activeRun, data?.lastSeq)
  const worst = flags[0]?.severity
  // the view on show when updates were paused: views are never changed, so later records leave it be
  const [frozen, setFrozen] = useState<LiveOverview | null>(null)
  const [exporting, setExporting] = useState(false)
  const [scalar, setScalar] = useState<string | undefined>(undefined)
  const [logScale, setLogScale] = useState(false)
  useEffect(() => setFrozen(null), [activeRun])
  useEffect(() => {
    if (urlState) history.replaceState(history.state, '', `${location.pathname}${writeUrlState(location.search, view)}${location.hash}`)
  }, [urlState, view])

  // While paused the charts get the view taken at pause; on resume the live one, whose arrays begin with the
  // same rows, so the charts insert only what arrived meanwhile.
  const shown = frozen ?? data
  const layerNames = useMemo(() => data?.run.layers.map((l) => l.name) ?? [], [data?.run.layers])
  const lineLayers = layerNames.length > HEATMAP_LAYER_THRESHOLD ? [] : layerNames
  const runDomain: StepDomain = [shown?.steps[0] ?? 0, shown?.steps.at(-1) ?? 0]
  const domain = view.zoom ?? runDomain
  const signals = { [STEP_DOMAIN.lo]: domain[0], [STEP_DOMAIN.hi]: Math.max(domain[1], domain[0] + 1) }
  // specs hold no data and a placeholder domain: they change only with the layers, the rest streams in
  const target = algorithmTarget(data?.run.algorithm)
  const markEvents = (shown?.events.length ?? 0) > 0
  const markFlags = flags.length > 0
  const flagMarks = useMemo(() => flagMarkRows(flags), [flags])
  const sparsity = useMemo(
    () => sparsitySpec([], [], { layers: lineLayers, domain: [0, 1], target, markEvents, markFlags }),
    [lineLayers.join('\n'), target, markEvents, markFlags],
  )
  // past the threshold the overview's churn is the whole model's (see modelChurn)
  const wholeModel = (shown?.first?.layers.length ?? 0) > HEATMAP_LAYER_THRESHOLD
  const churn = useMemo(() => churnSpec([], { domain: [0, 1], ...(wholeModel ? { layer: MODEL_CHURN } : {}) }), [wholeModel])
  const events = useMemo(() => eventsSpec([], { domain: [0, 1] }), [])
  const itop = useMemo(() => itopSpec([], { domain: [0, 1], ...(wholeModel ? { layer: MODEL_CHURN } : {}) }), [wholeModel])
  const maskDistance = useMemo(() => maskDistanceSpec([], { domain: [0, 1], ...(wholeModel ? { layer: MODEL_CHURN } : {}) }), [wholeModel])
  // each chart gets only the rows it draws: a chart of rows it filters all out would draw an empty extent
  const itopRows = useMemo(() => shown?.exploration.filter((r) => r.itop !== null) ?? [], [shown?.exploration])
  const distanceRows = useMemo(() => shown?.exploration.filter((r) => r.maskDistance !== null) ?? [], [shown?.exploration])
  const scalarNames = useMemo(() => [...new Set(shown?.scalars.map((r) => r.name))], [shown?.scalars])
  const shownScalar = scalar && scalarNames.includes(scalar) ? scalar : (scalarNames.includes('loss') ? 'loss' : scalarNames[0])
  const nonFinite = shown?.scalars.some((r) => r.name === shownScalar && r.value === null) ?? false
  const scalarChart = useMemo(
    () => shownScalar && scalarSpec([], { name: shownScalar, domain: [0, 1], log: logScale, nonFinite }),
    [shownScalar, logScale, nonFinite],
  )

  const known = runs?.find((r) => r.run === activeRun)
  const latest = shown?.latest ?? undefined
  const totals = latest ? deriveTotals(latest) : null
  const layer = view.layer && layerNames.includes(view.layer) ? view.layer : layerNames[0]
  const waiting = data && frozen ? data.liveSamples - frozen.liveSamples : 0
  const overhead = data ? rollingOverhead(data.costs, (step) => intervalAt(step, data.run.sampler, data.sampler)) : null
  const ended = data?.end ?? null
  const unreachable = status === 'reconnecting'
  const statusText = ended
    ? `run ${ended.status}`
    : known?.status === 'interrupted'
      ? 'run interrupted (training went silent)'
      : unreachable
        ? 'server unreachable, retrying…'
        : frozen
          ? 'paused'
          : status
  const pill = ended ? 'ended' : unreachable ? 'unreachable' : frozen ? 'paused' : status

  if (runs !== null && runs.length === 0 && !view.run)
    return (
      <div class="slp-dashboard">
        <style>{DASHBOARD_CSS}</style>
        <header class="slp-bar">
          <h1>SparseLab Profiler</h1>
        </header>
        <EmptyState url={url} />
      </div>
    )

  return (
    <div class="slp-dashboard">
      <style>{DASHBOARD_CSS}</style>
      <header class="slp-bar">
        <h1>SparseLab Profiler</h1>
        <label class="slp-run-picker">
          Run{' '}
          <select
            value={activeRun ?? ''}
            onChange={(e) => {
              const next = (e.target as HTMLSelectElement).value
              // a compared run picked as the run on show swaps places with it: the same runs, another baseline
              setView({ run: next, compare: comparedRuns(next, compare.includes(next) && activeRun ? [activeRun, ...compare] : compare), align: view.align })
            }}
          >
            {runs?.map((r) => (
              <option value={r.run} key={r.run}>
                {r.name} · {r.run} ({r.status})
              </option>
            ))}
          </select>
        </label>
        {runs && runs.length > 1 && (
          <ComparePicker runs={runs} run={activeRun} compare={compare} onCompare={(next) => setView({ run: activeRun, compare: next, align: view.align, layer: view.layer })} />
        )}
        <span class={`slp-status slp-status-${pill}`} data-status={status} role="status">
          {statusText}
        </span>
        {flags.length > 0 && !comparing && (
          <a class={`slp-flag-count slp-flag-${worst}`} href="#slp-findings" data-flags={flags.length}>
            {flags.length} {flags.length === 1 ? 'flag' : 'flags'}
          </a>
        )}
        <span class="slp-bar-actions">
          {!comparing && (
            <button type="button" disabled={!data || (ended !== null && !frozen)} aria-pressed={frozen !== null} onClick={() => setFrozen(frozen ? null : data)}>
              {frozen ? `Resume updates${waiting ? ` (${waiting} new)` : ''}` : 'Pause updates'}
            </button>
          )}
          <button type="button" disabled={!data || unreachable} title={unreachable ? 'The server is not answering' : undefined} onClick={() => setExporting(true)}>
            Export report
          </button>
        </span>
      </header>
      {exporting && data && (
        <ExportDialog
          client={client}
          run={data.run.run}
          runName={data.run.name}
          step={latest?.step ?? 0}
          compare={comparing ? compare.map((r) => ({ run: r, name: runs?.find((s) => s.run === r)?.name ?? r })) : []}
          align={view.align ?? 'step'}
          onClose={() => setExporting(false)}
        />
      )}
      {runs === null && !data && <p class="slp-empty">Connecting to the server…</p>}
      {error && <p class="slp-error">Cannot load run: {error}</p>}
      {/* the compared runs load beside run A, not after it */}
      {comparing && (
        <CompareView
          client={client}
          primary={{ run: activeRun, data, status, error, observer, flags }}
          compare={compare}
          runs={runs}
          align={view.align ?? 'step'}
          zoom={view.zoom}
          layer={view.layer}
          step={view.step}
          onChange={update}
        />
      )}
      {!comparing && data && (
        <>
          <dl class="slp-stats">
            <div>
              <dt>Training step</dt>
              <dd data-stat="step">{latest ? formatCount(latest.step) : '–'}</dd>
            </div>
            <div>
              <dt>Model sparsity</dt>
              <dd data-stat="sparsity">{totals ? formatPercent(totals.sparsity) : '–'}</dd>
              {totals && <dd class="slp-note">{`${formatCount(totals.nnz)} of ${formatCount(totals.numel)} weights active`}</dd>}
            </div>
            <div>
              <dt>Memory against dense</dt>
              <dd data-stat="saved">{totals ? describeSaving(totals.savedBytes, totals.denseBytes) : '–'}</dd>
            </div>
            <div>
              <dt>Profiler cost</dt>
              <dd data-stat="cost">{overhead === null ? '–' : `${formatPercent(overhead)} of training time`}</dd>
              <dd class="slp-note" data-stat="sampling">
                {`over the last ${data.costs.length} samples; sampling ${describeSampling(data.run.sampler, data.sampler)}`}
              </dd>
            </div>
          </dl>
          {!latest && <p class="slp-empty">Waiting for the first sample…</p>}
          <div id="slp-findings">
            <FlagsPanel
              flags={flags}
              onInspect={(name, step) => {
                update({ layer: name, step })
                document.querySelector('.slp-inspector')?.scrollIntoView({ behavior: 'smooth', block: 'start' })
              }}
            />
          </div>
          {view.zoom && (
            <p class="slp-zoom" role="status">
              Steps {formatCount(view.zoom[0])}–{formatCount(view.zoom[1])} of {formatCount(runDomain[0])}–{formatCount(runDomain[1])}{' '}
              <button type="button" onClick={() => update({ zoom: undefined })}>
                Reset zoom
              </button>
            </p>
          )}
          {scalarChart && shownScalar && (
            <section>
              <div class="slp-section-head">
                <h2>Training</h2>
                {scalarNames.length > 1 && (
                  <select aria-label="Scalar" value={shownScalar} onChange={(e) => setScalar((e.target as HTMLSelectElement).value)}>
                    {scalarNames.map((name) => (
                      <option value={name} key={name}>
                        {name}
                      </option>
                    ))}
                  </select>
                )}
                <label>
                  <input type="checkbox" checked={logScale} onChange={() => setLogScale(!logScale)} /> log scale
                </label>
              </div>
              <VegaChart name="scalars" spec={scalarChart} data={{ [DATASET.scalars]: shown!.scalars }} signals={signals} />
            </section>
          )}
          <section>
            <div class="slp-section-head">
              <h2>Per-layer sparsity</h2>
              {lineLayers.length > 0 && !view.zoom && <span class="slp-hint">drag across the chart to zoom</span>}
            </div>
            {layerNames.length > HEATMAP_LAYER_THRESHOLD ? (
              <SparsityHeatmap
                layers={layerNames}
                steps={shown!.steps}
                sparsity={shown!.sparsity}
                events={shown!.events}
                layer={layer}
                onLayer={(name) => update({ layer: name, step: undefined })}
              />
            ) : (
              <VegaChart
                name="sparsity"
                spec={sparsity}
                data={{ [DATASET.sparsity]: shown!.sparsityRows, [DATASET.eventMarks]: shown!.events, [DATASET.flagMarks]: flagMarks }}
                signals={signals}
                onZoom={(zoom) => update({ zoom })}
              />
            )}
            <details>
              <summary>Every layer as text</summary>
              {layer && (
                <LayerTable sample={latest} infoOf={(name) => liveLayerInfo(data, name)} layer={layer} onLayer={(name) => update({ layer: name, step: undefined })} />
              )}
            </details>
            <StorageChanges changes={data.layerChanges} />
          </section>
          <section>
            <h2>Topology dynamics</h2>
            <div class="slp-pair">
              <VegaChart name="churn" spec={churn} data={{ [DATASET.churn]: shown!.churn }} signals={signals} empty="No topology updates yet: churn appears with the first drop or grow." />
              <VegaChart name="events" spec={events} data={{ [DATASET.events]: shown!.events }} signals={signals} empty="No topology updates yet." />
            </div>
          </section>
          <section>
            <h2>Exploration</h2>
            {itopRows.length > 0 ? (
              <div class="slp-pair">
                <VegaChart name="itop" spec={itop} data={{ [DATASET.exploration]: itopRows }} signals={signals} />
                <VegaChart
                  name="mask-distance"
                  spec={maskDistance}
                  data={{ [DATASET.exploration]: distanceRows }}
                  signals={signals}
                  empty="No mask distance yet: it compares each sample with the one before."
                />
              </div>
            ) : (
              <p class="slp-empty" data-exploration="none">
                No mask history: exploration needs layers with a mask (SparseLab, torch prune, rigl-torch…)
              </p>
            )}
          </section>
          {layer && observer && (
            <LayerInspector
              live={observer}
              layers={layerNames}
              layer={layer}
              onLayer={(name) => update({ layer: name, step: undefined })}
              step={view.step}
              onStep={(step) => update({ step })}
              domain={domain}
              untilStep={frozen ? (frozen.latest?.step ?? -1) : null}
            />
          )}
        </>
      )}
    </div>
  )
}
