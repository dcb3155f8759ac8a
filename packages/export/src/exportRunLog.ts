import { buildReport, reportFileName, type RunSnapshot } from '@sparselab-profiler/core'
import { loadVegaLibraries } from '@sparselab-profiler/runlog'
import { renderReportHtml } from './renderReportHtml.js'

export interface ExportRunLogOptions {
  /** @default the run's display name */
  title?: string
}

/** The default report file name of a run, after its last step. */
export function runReportFileName(snapshot: RunSnapshot, date = new Date()): string {
  return reportFileName(snapshot.end?.step ?? snapshot.samples.at(-1)?.step ?? 0, date)
}

/**
 * Renders a run as the report's HTML text.
 * @example writeFileSync('report.html', exportRunLog((await readRunFolder('sparsity_runs/run-1'))!))
 */
export function exportRunLog(snapshot: RunSnapshot, options: ExportRunLogOptions = {}): string {
  return renderReportHtml(buildReport(snapshot, options), { libraries: loadVegaLibraries() })
}
