import { buildReport, reportFileName, type RunSnapshot } from '@sparselab-profiler/core'
import { readRunLog } from './readRunLog.js'
import { renderReportHtml } from './renderReportHtml.js'
import { loadVegaLibraries } from './vegaLibraries.js'

export interface ExportRunLogOptions {
  /** @default the run's display name */
  title?: string
}

/** The default report file name of a run, after its last step. */
export function runReportFileName(snapshot: RunSnapshot, date = new Date()): string {
  return reportFileName(snapshot.end?.step ?? snapshot.samples.at(-1)?.step ?? 0, date)
}

/** Renders a snapshot (or the run log at `path`) as the report's HTML text. */
export function exportRunLog(source: string | RunSnapshot, options: ExportRunLogOptions = {}): string {
  const snapshot = typeof source === 'string' ? readRunLog(source) : source
  return renderReportHtml(buildReport(snapshot, options), { libraries: loadVegaLibraries() })
}
