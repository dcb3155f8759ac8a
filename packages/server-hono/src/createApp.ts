import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { bearerAuth } from 'hono/bearer-auth'
import { cors } from 'hono/cors'
import { dashboardRoutes, type DashboardAssets } from './dashboardRoutes.js'
import { exportRoutes, type ExportRoutesOptions } from './exportRoutes.js'
import { hostGuard } from './hostGuard.js'
import { ingestRoutes, type IngestRoutesOptions } from './ingestRoutes.js'
import { originGuard } from './originGuard.js'
import { runRoutes, type RunRoutesOptions } from './runRoutes.js'
import { streamRoutes, type StreamRoutesOptions } from './streamRoutes.js'

export type { DashboardAssets }

/** Each route module's options (the store, ingest limit, SSE pacing, complete runs for export), and the guards'. */
export interface AppOptions extends IngestRoutesOptions, RunRoutesOptions, StreamRoutesOptions, ExportRoutesOptions {
  /** Served at `/` and `/assets/dashboard.js`; without it `/` answers 404. */
  dashboard?: DashboardAssets
  /** When set, every route requires `Authorization: Bearer <token>`. @default undefined */
  token?: string
  /** Origins of pages allowed to embed the dashboard (CORS); every other origin is refused (403). @default [] */
  corsOrigins?: string[]
  /**
   * Names the server is reached by beyond loopback names (`localhost`, `*.localhost`) and IP addresses;
   * a request with any other `Host` gets 403 (DNS rebinding). `.lab.example` allows a domain with its
   * subdomains, `'*'` any name. @default []
   */
  allowedHosts?: string[]
}

/**
 * The whole HTTP surface as a Hono app: `fetch(Request) → Response`, testable with `app.request()`.
 * The guards run first, in this order, for every route; each group of routes is a module of its own.
 * @example serve({ fetch: createApp({ store: new RunStore() }).fetch, port: 8080 })
 */
export function createApp(options: AppOptions): Hono {
  const app = new Hono()

  // Before CORS and the token: a page on a rebound name or another origin gets nothing, whatever it holds.
  app.use('*', hostGuard({ allowedHosts: options.allowedHosts }))
  app.use('*', originGuard({ corsOrigins: options.corsOrigins }))
  if (options.corsOrigins?.length)
    app.use('*', cors({ origin: options.corsOrigins, allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'], exposeHeaders: ['Content-Disposition'] }))
  if (options.token) app.use('*', bearerAuth({ token: options.token }))

  app.onError((error, c) =>
    error instanceof HTTPException ? error.getResponse() : c.json({ error: `internal error: ${error.message}` }, 500),
  )

  app.route('/api/ingest', ingestRoutes(options))
  app.route('/api/runs', runRoutes(options))
  app.route('/stream', streamRoutes(options))
  app.route('/export', exportRoutes(options))
  if (options.dashboard) app.route('/', dashboardRoutes(options.dashboard))
  return app
}
