import { Hono, type MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { bearerAuth } from 'hono/bearer-auth'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { streamSSE } from 'hono/streaming'
import {
  DEFAULT_SECTIONS,
  REPORT_SECTIONS,
  buildReport,
  checkBatch,
  formatNdjsonError,
  isValidRunId,
  layerHistory,
  parseNdjson,
  runOverview,
  type ReportSection,
  type RunSnapshot,
  type RunStore,
} from '@sparselab-profiler/core'
import { loadVegaLibraries, renderReportHtml, runReportFileName } from '@sparselab-profiler/export'
import { decodeUtf8Body } from './decodeUtf8Body.js'
import { hostGuard } from './hostGuard.js'
import { originGuard } from './originGuard.js'
import { requireContentType } from './requireContentType.js'
import { streamRun } from './streamRun.js'

/** The page and script that `GET /` serves; supplied by the bundle so the server does not depend on the UI. */
export interface DashboardAssets {
  html: string
  script: string
}

export interface AppOptions {
  store: RunStore
  /** Served at `/` and `/assets/dashboard.js`; without it `/` answers 404. */
  dashboard?: DashboardAssets
  /** When set, every route requires `Authorization: Bearer <token>`. @default undefined */
  token?: string
  /** Largest accepted ingest body in bytes; larger ones get 413. @default 16 MiB */
  maxIngestBytes?: number
  /** Seconds between SSE keep-alive comments. @default 15 */
  keepAliveSeconds?: number
  /** Records buffered for one SSE client that reads too slowly; beyond it the client is dropped and resumes with Last-Event-ID. @default 10000 */
  maxQueued?: number
  /** Origins of pages allowed to embed the dashboard (CORS); every other origin is refused (403). @default [] */
  corsOrigins?: string[]
  /**
   * Names the server is reached by beyond loopback names (`localhost`, `*.localhost`) and IP addresses;
   * a request with any other `Host` gets 403 (DNS rebinding). `.lab.example` allows a domain with its
   * subdomains, `'*'` any name. @default []
   */
  allowedHosts?: string[]
  /** A run's complete history for exports (the store keeps a bounded window). @default the store's snapshot */
  completeRun?: (run: string) => RunSnapshot | undefined | Promise<RunSnapshot | undefined>
}

const DEFAULT_OVERVIEW_POINTS = 300
const DEFAULT_LAYER_POINTS = 500
const MAX_POINTS = 10_000

/** `?points=` as an integer in [2, MAX_POINTS], or the error message. */
function pointsParameter(value: string | undefined, fallback: number): number | string {
  if (value === undefined) return fallback
  const points = Number(value)
  return Number.isInteger(points) && points >= 2 && points <= MAX_POINTS
    ? points
    : `query parameter "points" must be an integer from 2 to ${MAX_POINTS}, got ${JSON.stringify(value)}`
}

/**
 * The whole HTTP surface as a Hono app: `fetch(Request) → Response`, testable with `app.request()`.
 * @example serve({ fetch: createApp({ store: new RunStore() }).fetch, port: 8080 })
 */
export function createApp(options: AppOptions): Hono {
  const { store } = options
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

  app.post(
    '/api/ingest',
    requireContentType('application/x-ndjson'),
    bodyLimit({
      maxSize: options.maxIngestBytes ?? 16 * 1024 * 1024,
      onError: (c) => c.json({ error: `body larger than ${options.maxIngestBytes ?? 16 * 1024 * 1024} bytes; send smaller batches` }, 413),
    }),
    async (c) => {
      const decoded = decodeUtf8Body(new Uint8Array(await c.req.arrayBuffer()))
      if (!decoded.ok) return c.json({ error: formatNdjsonError(decoded.error), ...decoded.error }, 400)
      const body = decoded.text
      const heartbeat = c.req.query('run')
      if (body.trim() === '' && heartbeat !== undefined) {
        // An empty batch naming its run is a heartbeat: the run is alive, and the ack says where it stands.
        if (!isValidRunId(heartbeat)) return c.json({ error: `query parameter "run" must be a run id, got ${JSON.stringify(heartbeat)}` }, 400)
        return c.json({ acks: { [heartbeat]: store.touch(heartbeat) } })
      }
      const parsed = parseNdjson(body)
      if (!parsed.ok) return c.json({ error: formatNdjsonError(parsed.error), ...parsed.error }, 400)
      // All or nothing: a batch with a problem stores none of its records.
      const problem = checkBatch(parsed.records, parsed.lines, (run) => store.has(run))
      if (problem) {
        const { line, path, message } = problem
        const answer = { error: formatNdjsonError(problem), line, path, message }
        // An unknown run answers like an ack of -1 too, so the sender resends from seq 0.
        return problem.kind === 'unknown-run' ? c.json({ ...answer, acks: { [problem.run]: -1 } }, 409) : c.json(answer, 400)
      }
      return c.json({ acks: store.ingest(parsed.records) })
    },
  )

  app.get('/api/runs', (c) => c.json({ runs: store.listRuns() }))

  // Every /api/runs/:run route: the id must be a run id (nothing that reads as a path) before any lookup.
  const runIdParameter: MiddlewareHandler = async (c, next) => {
    const run = c.req.param('run')
    if (run !== undefined && !isValidRunId(run)) return c.json({ error: `invalid run id ${JSON.stringify(run)}` }, 400)
    await next()
  }
  app.use('/api/runs/:run', runIdParameter)
  app.use('/api/runs/:run/*', runIdParameter)

  app.get('/api/runs/:run', (c) => {
    const run = c.req.param('run')
    const snapshot = store.snapshot(run)
    return snapshot ? c.json(snapshot) : c.json({ error: `no run ${run}` }, 404)
  })

  // What the dashboard loads: sizes bounded by `points`, whatever the run's length and layer count.
  app.get('/api/runs/:run/overview', (c) => {
    const run = c.req.param('run')
    const points = pointsParameter(c.req.query('points'), DEFAULT_OVERVIEW_POINTS)
    if (typeof points === 'string') return c.json({ error: points }, 400)
    const snapshot = store.snapshot(run)
    return snapshot ? c.json(runOverview(snapshot, points)) : c.json({ error: `no run ${run}` }, 404)
  })

  app.get('/api/runs/:run/layer', (c) => {
    const run = c.req.param('run')
    const points = pointsParameter(c.req.query('points'), DEFAULT_LAYER_POINTS)
    if (typeof points === 'string') return c.json({ error: points }, 400)
    const layer = c.req.query('name')
    if (!layer) return c.json({ error: 'query parameter "name" must name a layer' }, 400)
    const snapshot = store.snapshot(run)
    if (!snapshot) return c.json({ error: `no run ${run}` }, 404)
    const history = layerHistory(snapshot, layer, points)
    return history ? c.json(history) : c.json({ error: `run ${run} has no layer ${JSON.stringify(layer)}` }, 404)
  })

  app.get('/stream', (c) => {
    const run = c.req.query('run') ?? ''
    if (!isValidRunId(run)) return c.json({ error: `query parameter "run" must be a run id, got ${JSON.stringify(run)}` }, 400)
    if (!store.has(run)) return c.json({ error: `no run ${run}` }, 404)
    const lastEventId = Number(c.req.header('Last-Event-ID') ?? c.req.query('after') ?? -1)
    const after = Number.isInteger(lastEventId) ? lastEventId : -1
    return streamSSE(c, (stream) => streamRun(stream, { store, run, after, keepAliveMs: (options.keepAliveSeconds ?? 15) * 1000, maxQueued: options.maxQueued }))
  })

  app.post('/export', requireContentType('application/json'), async (c) => {
    let body: { run?: unknown; title?: unknown; sections?: unknown }
    try {
      body = await c.req.json()
    } catch {
      return c.json({ error: 'body must be JSON: {"run": "<run id>", "title": "..."}' }, 400)
    }
    const run = typeof body.run === 'string' ? body.run : ''
    if (!isValidRunId(run)) return c.json({ error: `field "run" must be a run id, got ${JSON.stringify(body.run)}` }, 400)
    if (body.title !== undefined && typeof body.title !== 'string') return c.json({ error: 'field "title" must be a string' }, 400)
    const sections = body.sections ?? DEFAULT_SECTIONS
    if (!Array.isArray(sections) || sections.some((s) => !REPORT_SECTIONS.includes(s)))
      return c.json({ error: `field "sections" must be a list of ${REPORT_SECTIONS.map((s) => `"${s}"`).join(', ')}` }, 400)
    if (!store.has(run)) return c.json({ error: `no run ${run}` }, 404)
    const snapshot = (await options.completeRun?.(run)) ?? store.snapshot(run)!
    const report = buildReport(snapshot, { title: body.title || undefined, sections: sections as ReportSection[] })
    const html = renderReportHtml(report, { libraries: loadVegaLibraries() })
    c.header('Content-Disposition', `attachment; filename="${runReportFileName(snapshot)}"`)
    return c.html(html)
  })

  const { dashboard } = options
  if (dashboard) {
    app.get('/', (c) => c.html(dashboard.html))
    app.get('/favicon.ico', (c) => c.body(null, 204))
    app.get('/assets/dashboard.js', (c) => {
      c.header('Content-Type', 'text/javascript; charset=utf-8')
      c.header('Cache-Control', 'no-cache')
      return c.body(dashboard.script)
    })
  }
  return app
}
