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
 * The default file name of a compare report, `sparsity_compare_<date>.html` (UTC date).
 * @example compareReportFileName(new Date('2025-04-15')) // 'sparsity_compare_2025-04-15.html'
 */
export function compareReportFileName(date = new Date()): string {
  return `sparsity_compare_${date.toISOString().slice(0, 10)}.html`
}

/**
 * Renders two to four runs as one compare report's HTML text, the first run the baseline of every difference.
 * @example writeFileSync('compare.html', exportCompareLog([a, b], { libraries: loadVegaLibraries(), alignment: 'fraction' }))
 */
export function exportCompareLog(snapshots: readonly RunSnapshot[], { libraries, title, alignment }: ExportCompareLogOptions): string {
  return renderCompareReportHtml(buildCompareReport(snapshots, { title, alignment }), { libraries })
}
