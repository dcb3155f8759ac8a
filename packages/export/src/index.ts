/** @sparselab-profiler/export — one self-contained HTML report per run, or per comparison of runs, built from core's report builders. */
export { renderReportHtml } from './renderReportHtml.js'
export type { RenderReportOptions } from './renderReportHtml.js'
export { exportRunLog, runReportFileName } from './exportRunLog.js'
export type { ExportRunLogOptions } from './exportRunLog.js'
export { renderCompareReportHtml } from './renderCompareReportHtml.js'
export type { RenderCompareReportOptions } from './renderCompareReportHtml.js'
export { exportCompareLog } from './exportCompareLog.js'
export type { ExportCompareLogOptions } from './exportCompareLog.js'
