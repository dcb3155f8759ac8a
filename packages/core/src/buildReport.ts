import {
  eventRows,
  eventsSpec,
  histogramRows,
  histogramSpec,
  sparsityRows,
  sparsitySpec,
  type VegaLiteSpec,
} from './chartSpecs.js'
import type { RunSnapshot } from './RunStore.js'
import { deriveTotals, type ModelTotals } from './totals.js'

export interface ReportChart {
  id: string
  title: string
  spec: VegaLiteSpec
}

/** Everything a report shows, as data; the export package turns it into one HTML file. */
export interface ReportModel {
  title: string
  runId: string
  runName: string
  algorithm: string
  lastStep: number
  status: string
  totals: ModelTotals | null
  charts: ReportChart[]
}

export interface BuildReportOptions {
  /** @default the run's display name */
  title?: string
  /** Layers to draw a weight histogram for. @default every profiled layer */
  histogramLayers?: string[]
}

function describeAlgorithm(snapshot: RunSnapshot): string {
  const algo = snapshot.run.algorithm
  if (!algo) return 'none (static weights)'
  const params = Object.entries(algo.params).map(([k, v]) => `${k}=${v}`)
  return params.length ? `${algo.name} (${params.join(', ')})` : algo.name
}

/**
 * Builds the report of a run from the same chart specs the live dashboard renders.
 * @example buildReport(store.snapshot('run-1')!, { title: 'Digits RigL' }).charts.length // 2 + layers
 */
export function buildReport(snapshot: RunSnapshot, options: BuildReportOptions = {}): ReportModel {
  const last = snapshot.samples.at(-1)
  const charts: ReportChart[] = [
    { id: 'sparsity', title: 'Per-layer sparsity', spec: sparsitySpec(sparsityRows(snapshot.samples)) },
    { id: 'events', title: 'Topology events', spec: eventsSpec(eventRows(snapshot.events)) },
  ]
  const wanted = options.histogramLayers ? new Set(options.histogramLayers) : undefined
  for (const layer of last?.layers ?? []) {
    if (wanted && !wanted.has(layer.name)) continue
    charts.push({
      id: `histogram-${charts.length - 1}`,
      title: `Weight distribution · ${layer.name}`,
      spec: histogramSpec(histogramRows(layer.hist), { layer: layer.name, step: last!.step }),
    })
  }
  return {
    title: options.title ?? snapshot.run.name,
    runId: snapshot.run.run,
    runName: snapshot.run.name,
    algorithm: describeAlgorithm(snapshot),
    lastStep: snapshot.end?.step ?? last?.step ?? 0,
    status: snapshot.end?.status ?? 'live',
    totals: last ? deriveTotals(last) : null,
    charts,
  }
}
