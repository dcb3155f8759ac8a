import { useEffect, useMemo, useState } from 'preact/hooks'
import {
  DATASET,
  deriveTotals,
  eventsSpec,
  formatBytes,
  histogramRows,
  histogramSpec,
  sparsitySpec,
  type RunSummary,
} from '@sparselab-profiler/core'
import { authHeaders, useLiveRun } from './useLiveRun.js'
import { VegaChart } from './VegaChart.js'
import { DASHBOARD_CSS } from './dashboardCss.js'

export interface DashboardProps {
  /** Server base URL; '' means the page's own origin. */
  url: string
  /** Run to show first. @default the most recent run */
  run?: string
  /** Bearer token for a server started with --token. */
  token?: string
}

const percent = (x: number) => `${(x * 100).toFixed(2)}%`

function useRuns(url: string, token?: string): RunSummary[] {
  const [runs, setRuns] = useState<RunSummary[]>([])
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let cancelled = false
    const poll = async () => {
      try {
        const response = await fetch(`${url}/api/runs`, { headers: authHeaders(token), cache: 'no-store' })
        if (response.ok && !cancelled) setRuns(((await response.json()) as { runs: RunSummary[] }).runs)
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
  }, [url, token])
  return runs
}

async function downloadReport(url: string, run: string, title: string, token?: string): Promise<void> {
  const response = await fetch(`${url}/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders(token) },
    body: JSON.stringify({ run, title }),
  })
  if (!response.ok) throw new Error(((await response.json()) as { error?: string }).error ?? `export answered ${response.status}`)
  const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? 'sparsity_report.html'
  const link = document.createElement('a')
  link.href = URL.createObjectURL(await response.blob())
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
}

/**
 * The live dashboard: run header, per-layer sparsity chart, layer inspector and export.
 * @example render(<Dashboard url="http://127.0.0.1:8080" />, element)
 */
export function Dashboard({ url, run, token }: DashboardProps) {
  const runs = useRuns(url, token)
  const [chosenRun, setChosenRun] = useState(run)
  const activeRun = chosenRun ?? runs[0]?.run
  const { data, status, error } = useLiveRun({ url, run: activeRun, token })
  const [chosenLayer, setChosenLayer] = useState<string | undefined>(undefined)
  const [exportError, setExportError] = useState<string | null>(null)

  const silent = runs.find((r) => r.run === activeRun)?.status === 'interrupted'
  const latest = data?.samples.at(-1)
  const totals = latest ? deriveTotals(latest) : null
  const layerNames = data?.run.layers.map((l) => l.name) ?? []
  const layer = chosenLayer && layerNames.includes(chosenLayer) ? chosenLayer : layerNames[0]
  const layerSample = latest?.layers.find((l) => l.name === layer)
  const sparsity = useMemo(() => sparsitySpec([]), [])
  const histogram = useMemo(() => (layerSample ? histogramRows(layerSample.hist) : []), [layerSample])
  const layerEvents = useMemo(
    () => data?.eventRows.filter((e) => e.layer === layer) ?? [],
    [data, layer, data?.eventRows.length],
  )

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
        <span class={`slp-status slp-status-${status}`} data-status={status}>
          {data?.end ? `run ${data.end.status}` : silent ? 'run interrupted (training went silent)' : status}
        </span>
        <button
          type="button"
          disabled={!data}
          onClick={() => {
            setExportError(null)
            downloadReport(url, data!.run.run, data!.run.name, token).catch((e: Error) => setExportError(e.message))
          }}
        >
          Export report
        </button>
      </header>
      {exportError && <p class="slp-error">Export failed: {exportError}</p>}
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
              <dd data-stat="sparsity">{totals ? percent(totals.sparsity) : '–'}</dd>
            </div>
            <div>
              <dt>Memory saved vs dense</dt>
              <dd data-stat="saved">{totals ? formatBytes(totals.savedBytes) : '–'}</dd>
            </div>
            <div>
              <dt>Profiler cost per sample</dt>
              <dd data-stat="cost">{latest ? `${latest.cost_ms.toFixed(1)} ms` : '–'}</dd>
            </div>
          </dl>
          {!latest && <p class="slp-empty">Waiting for the first sample…</p>}
          <section>
            <h2>Per-layer sparsity evolution</h2>
            <VegaChart spec={sparsity} dataset={DATASET.sparsity} rows={data.sparsityRows} name="sparsity" />
          </section>
          <section>
            <h2>
              Layer inspector:{' '}
              <select value={layer} aria-label="Layer" onChange={(e) => setChosenLayer((e.target as HTMLSelectElement).value)}>
                {layerNames.map((name) => (
                  <option value={name} key={name}>
                    {name}
                  </option>
                ))}
              </select>
            </h2>
            {layerSample && (
              <dl class="slp-stats">
                <div>
                  <dt>Sparsity</dt>
                  <dd>{percent(layerSample.sparsity)}</dd>
                </div>
                <div>
                  <dt>NNZ</dt>
                  <dd>
                    {layerSample.nnz.toLocaleString('en-US')} / {layerSample.numel.toLocaleString('en-US')}
                  </dd>
                </div>
                <div>
                  <dt>At step</dt>
                  <dd>{latest!.step}</dd>
                </div>
                <div>
                  <dt>Memory vs dense</dt>
                  <dd>
                    {formatBytes(layerSample.bytes)} vs {formatBytes(layerSample.dense_bytes)} (
                    {formatBytes(layerSample.bytes - layerSample.dense_bytes)})
                  </dd>
                </div>
              </dl>
            )}
            <div class="slp-pair">
              {layerSample && (
                <VegaChart
                  spec={histogramSpec([], { layer: layerSample.name })}
                  dataset={DATASET.histogram}
                  rows={histogram}
                  name="histogram"
                />
              )}
              {layer && (
                <VegaChart spec={eventsSpec([], { layer })} dataset={DATASET.events} rows={layerEvents} name="events" />
              )}
            </div>
          </section>
        </>
      )}
    </div>
  )
}
