/** @sparselab-profiler/export — one self-contained HTML report per run, built from core's report builder. */
export { renderReportHtml } from './renderReportHtml.js'
export type { RenderReportOptions } from './renderReportHtml.js'
export { exportRunLog, runReportFileName } from './exportRunLog.js'
export type { ExportRunLogOptions } from './exportRunLog.js'
