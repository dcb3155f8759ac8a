/** @sparselab-profiler/export — one self-contained HTML report per run, built from core's report builder. */
export { loadVegaLibraries } from './vegaLibraries.js'
export type { VegaLibraries } from './vegaLibraries.js'
export { renderReportHtml } from './renderReportHtml.js'
export type { RenderReportOptions } from './renderReportHtml.js'
export { RECORDS_FILE, readRunLog, runLogPath } from './readRunLog.js'
export { exportRunLog, runReportFileName } from './exportRunLog.js'
export type { ExportRunLogOptions } from './exportRunLog.js'
