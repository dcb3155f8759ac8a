import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { DashboardAssets } from '@sparselab-profiler/server-hono'

const require = createRequire(import.meta.url)

/** The built dashboard page and script, read from the dashboard-preact package. */
export function loadDashboardAssets(): DashboardAssets {
  return {
    html: readFileSync(require.resolve('@sparselab-profiler/dashboard-preact/index.html'), 'utf8'),
    script: readFileSync(require.resolve('@sparselab-profiler/dashboard-preact/browser'), 'utf8'),
  }
}
