/** @sparselab-profiler/server-hono — ingest, live SSE stream, runs API and export as one Hono app. */
export { createApp } from './createApp.js'
export type { AppOptions, DashboardAssets } from './createApp.js'
export { loadLogdir } from './loadLogdir.js'
export { startServer } from './startServer.js'
export type { RunningServer, StartServerOptions } from './startServer.js'
export { streamRun } from './streamRun.js'
export type { StreamRunOptions } from './streamRun.js'
