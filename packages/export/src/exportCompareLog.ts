import { buildCompareReport, type RunSnapshot, type StepAlignment, type VegaLibraries } from '@sparselab-profiler/core'
import { renderCompareReportHtml } from './renderCompareReportHtml.js'

export interface ExportCompareLogOptions {
  /** The Vega builds to inline (in Node.js: runlog's `loadVegaLibraries()`). */
  libraries: VegaLibraries
  /** @default the runs' names joined by ' vs ', or a name they share and what differs (buildCompareReport) */
  title?: string
  /** How steps line up: the same step, or the same fraction of each run's training. @default 'step' */
  alignment?: StepAlignment
}

/**
 * Renders two to four runs as one compare report's HTML text, the first run the baseline of every difference.
 * @example writeFileSync('compare.html', exportCompareLog([a, b], { libraries: loadVegaLibraries(), alignment: 'fraction' }))
 */
export function exportCompareLog(snapshots: readonly RunSnapshot[], { libraries, title, alignment }: ExportCompareLogOptions): string {
  return renderCompareReportHtml(buildCompareReport(snapshots, { title, alignment }), { libraries })
}
