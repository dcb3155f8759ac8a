/** sparselab-profiler — the server with its dashboard, the HTML export and the CLI, in one install. */
import { startServer as startBareServer, type RunningServer, type StartServerOptions } from '@sparselab-profiler/server-hono'
import { loadDashboardAssets } from './dashboardAssets.js'

export { loadDashboardAssets }
export { exportRunLog, runReportFileName } from '@sparselab-profiler/export'
export { readRunFolder } from '@sparselab-profiler/runlog'
export type { RunningServer, StartServerOptions }

/**
 * Starts the profiler server with its live dashboard at `/`.
 * @example const { url } = await startServer({ port: 8080 })
 */
export function startServer(options: Omit<StartServerOptions, 'dashboard'> = {}): Promise<RunningServer> {
  return startBareServer({ ...options, dashboard: loadDashboardAssets() })
}
