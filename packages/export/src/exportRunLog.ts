import { buildReport, type RunSnapshot } from '@sparselab-profiler/core'
import { readRunLog } from './readRunLog.js'
import { renderReportHtml } from './renderReportHtml.js'
import { loadVegaLibraries } from './vegaLibraries.js'

export interface ExportRunLogOptions {
  /** @default the run's display name */
  title?: string
}

/**
 * The default report file name, `sparsity_report_<date>_<step>.html`.
 * @example reportFileName(snapshot, new Date('2025-04-15')) // 'sparsity_report_2025-04-15_1450.html'
 */
export function reportFileName(snapshot: RunSnapshot, date = new Date()): string {
  const step = snapshot.end?.step ?? snapshot.samples.at(-1)?.step ?? 0
  return `sparsity_report_${date.toISOString().slice(0, 10)}_${step}.html`
}

/** Renders a snapshot (or the run log at `path`) as the report's HTML text. */
export function exportRunLog(source: string | RunSnapshot, options: ExportRunLogOptions = {}): string {
  const snapshot = typeof source === 'string' ? readRunLog(source) : source
  return renderReportHtml(buildReport(snapshot, options), { libraries: loadVegaLibraries() })
}
