import { useEffect, useMemo, useState } from 'preact/hooks'
import {
  DATASET,
  HEATMAP_LAYER_THRESHOLD,
  deriveTotals,
  formatBytes,
  formatPercent,
  liveLayerInfo,
  sparsitySpec,
  type LiveOverview,
  type RunSummary,
} from '@sparselab-profiler/core'
import { DASHBOARD_CSS } from './dashboardCss.js'
import { ExportDialog } from './ExportDialog.js'
import { LayerInspector } from './LayerInspector.js'
import { LayerTable } from './LayerTable.js'
import { runsClient, type RunsClient } from './runsClient.js'
import { SparsityHeatmap } from './SparsityHeatmap.js'
import { StorageChanges } from './StorageChanges.js'
import { useLiveRun } from './useLiveRun.js'
import { VegaChart } from './VegaChart.js'

export interface DashboardProps {
  /** Server base URL; '' means the page's own origin. */
  url: string
  /** Run to show first. @default the most recent run */
  run?: string
  /** Bearer token for a server started with --token. */
  token?: string
}

function useRuns(client: RunsClient): RunSummary[] {
  const [runs, setRuns] = useState<RunSummary[]>([])
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
 * The live dashboard: run header, per-layer sparsity, layer inspector, pause and export.
 * @example render(<Dashboard url="http://127.0.0.1:8080" />, element)
 */
export function Dashboard({ url, run, token }: DashboardProps) {
  const client = useMemo(() => runsClient({ url, token }), [url, token])
  const runs = useRuns(client)
  const [chosenRun, setChosenRun] = useState(run)
  const activeRun = chosenRun ?? runs[0]?.run
  const { data, status, error, observer } = useLiveRun({ client, run: activeRun })
  const [chosenLayer, setChosenLayer] = useState<string | undefined>(undefined)
  // the view on show when updates were paused: views are never changed, so later records leave it be
  const [frozen, setFrozen] = useState<LiveOverview | null>(null)
  const [exporting, setExporting] = useState(false)
  useEffect(() => setFrozen(null), [activeRun])

  // While paused the charts get the view taken at pause; on resume the live one, whose arrays begin with the
  // same rows, so the charts insert only what arrived meanwhile.
  const shown = frozen ?? data
  const sparsityRows = shown?.sparsityRows ?? []
  const eventRows = shown?.events ?? []
  const layerCount = data?.run.layers.length ?? 0
  // the line chart's spec; past the threshold the canvas heatmap draws instead
  const sparsity = useMemo(() => sparsitySpec([], [], Math.min(layerCount, HEATMAP_LAYER_THRESHOLD)), [layerCount])

  const silent = runs.find((r) => r.run === activeRun)?.status === 'interrupted'
  const latest = shown?.latest ?? undefined
  const totals = latest ? deriveTotals(latest) : null
  const layerNames = useMemo(() => data?.run.layers.map((l) => l.name) ?? [], [data?.run.layers])
  const layer = chosenLayer && layerNames.includes(chosenLayer) ? chosenLayer : layerNames[0]
  const waiting = data && frozen ? data.liveSamples - frozen.liveSamples : 0
  const every = data?.sampler.at(-1)?.every ?? data?.run.sampler.every ?? 1
  const overhead = latest?.step_ms ? latest.cost_ms / (every * latest.step_ms) : null
  const statusText = data?.end
    ? `run ${data.end.status}`
    : silent
      ? 'run interrupted (training went silent)'
      : status === 'reconnecting'
        ? 'reconnecting…'
        : status

  return (
    <div class="slp-dashboard">
      <style>{DASHBOARD_CSS}</style>
      <header class="slp-bar">
        <h1>SparseLab Profiler</h1>
        <label>
          Run{' '}
          <select value={activeRun ?? ''} onChange={(e) => setChosenRun((e.target as HTMLSelectElement).value)}>
            {runs.map((r) => (
              <option value={r.run} key={r.run}>
                {r.name} · {r.run} ({r.status})
              </option>
            ))}
          </select>
        </label>
        <span class={`slp-status slp-status-${status}`} data-status={status} role="status">
          {statusText}
        </span>
        <button
          type="button"
          disabled={!data}
          aria-pressed={frozen !== null}
          onClick={() => setFrozen(frozen ? null : data)}
        >
          {frozen ? `Resume updates${waiting ? ` (${waiting} new)` : ''}` : 'Pause updates'}
        </button>
        <button type="button" disabled={!data} onClick={() => setExporting(true)}>
          Export report
        </button>
      </header>
      {exporting && data && (
        <ExportDialog client={client} run={data.run.run} runName={data.run.name} step={latest?.step ?? 0} onClose={() => setExporting(false)} />
      )}
      {!activeRun && <p class="slp-empty">Waiting for a run… start training with SparsityProfilerCallback.</p>}
      {error && <p class="slp-error">Cannot load run: {error}</p>}
      {data && (
        <>
          <dl class="slp-stats">
            <div>
              <dt>Training step</dt>
              <dd data-stat="step">{latest?.step ?? '–'}</dd>
            </div>
            <div>
              <dt>Total model sparsity</dt>
              <dd data-stat="sparsity">{totals ? formatPercent(totals.sparsity) : '–'}</dd>
            </div>
            <div>
              <dt>Memory saved vs dense</dt>
              <dd data-stat="saved">{totals ? formatBytes(totals.savedBytes) : '–'}</dd>
            </div>
            <div>
              <dt>Profiler cost per sample</dt>
              <dd data-stat="cost">
                {latest ? `${latest.cost_ms.toFixed(1)} ms` : '–'}
                {overhead !== null ? ` (~${formatPercent(overhead)} of training)` : ''}
              </dd>
            </div>
          </dl>
          {!latest && <p class="slp-empty">Waiting for the first sample…</p>}
          <section>
            <h2>Per-layer sparsity evolution</h2>
            {layerCount > HEATMAP_LAYER_THRESHOLD ? (
              <SparsityHeatmap
                layers={layerNames}
                steps={shown!.steps}
                sparsity={shown!.sparsity}
                events={eventRows}
                onLayer={setChosenLayer}
              />
            ) : (
              <VegaChart name="sparsity" spec={sparsity} data={{ [DATASET.sparsity]: sparsityRows, [DATASET.eventMarks]: eventRows }} />
            )}
            <details>
              <summary>Every layer as text</summary>
              {layer && <LayerTable sample={latest} infoOf={(name) => liveLayerInfo(data, name)} layer={layer} onLayer={setChosenLayer} />}
            </details>
            <StorageChanges changes={data.layerChanges} />
          </section>
          {layer && observer && (
            <LayerInspector
              live={observer}
              layers={layerNames}
              layer={layer}
              onLayer={setChosenLayer}
              untilStep={frozen ? (frozen.latest?.step ?? -1) : null}
            />
          )}
        </>
      )}
    </div>
  )
}
