import { buildReport, reportFileName, type RunSnapshot, type VegaLibraries } from '@sparselab-profiler/core'
import { renderReportHtml } from './renderReportHtml.js'

export interface ExportRunLogOptions {
  /** The Vega builds to inline (in Node.js: runlog's `loadVegaLibraries()`). */
  libraries: VegaLibraries
  /** @default the run's display name */
  title?: string
}

/** The default report file name of a run, after its last step. */
export function runReportFileName(snapshot: RunSnapshot, date = new Date()): string {
  return reportFileName(snapshot.end?.step ?? snapshot.samples.at(-1)?.step ?? 0, date)
}

/**
 * Renders a run as the report's HTML text.
 * @example writeFileSync('report.html', exportRunLog(snapshot, { libraries: loadVegaLibraries() }))
 */
export function exportRunLog(snapshot: RunSnapshot, { libraries, title }: ExportRunLogOptions): string {
  return renderReportHtml(buildReport(snapshot, { title }), { libraries })
}
