/** sparselab-profiler — the server with its dashboard, the HTML export and the CLI, in one install. */
import { startServer as startBareServer, type RunningServer, type StartServerOptions } from '@sparselab-profiler/server-hono'
import { loadDashboardAssets } from './dashboardAssets.js'

export { loadDashboardAssets }
export { loadProfilerAssets } from './profilerAssets.js'
export type { ProfilerAssets } from './profilerAssets.js'
export { exportRunLog, runReportFileName } from '@sparselab-profiler/export'
export { readRunFolder } from '@sparselab-profiler/runlog'
export type { RunningServer, StartServerOptions }

/**
 * Starts the profiler server with its live dashboard at `/` (read from the installed dashboard package
 * unless `dashboard` is given).
 * @example const { url } = await startServer({ port: 8080 })
 */
export function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  return startBareServer({ ...options, dashboard: options.dashboard ?? loadDashboardAssets() })
}
