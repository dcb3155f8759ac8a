import type { VegaLibraries } from '@sparselab-profiler/core'
import { loadVegaLibraries } from '@sparselab-profiler/runlog'
import type { DashboardAssets } from '@sparselab-profiler/server-hono'
import { loadDashboardAssets } from './dashboardAssets.js'

/** The text files the CLI serves and inlines: the dashboard page and script, and the Vega builds of a report. */
export interface ProfilerAssets {
  dashboard: DashboardAssets
  vegaLibraries: VegaLibraries
}

/**
 * Reads the assets from the installed packages (node_modules). The one-file build carries them
 * instead, embedded when it is built from what this returns.
 * @example await main(['serve'], { assets: loadProfilerAssets() })
 */
export function loadProfilerAssets(): ProfilerAssets {
  return { dashboard: loadDashboardAssets(), vegaLibraries: loadVegaLibraries() }
}
