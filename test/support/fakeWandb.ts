/**
 * A fake Weights & Biases server, good enough for `wandb sync` of an offline run (wandb 0.31, whose sync
 * runs in the Go `wandb-core`) and for our own TypeScript W&B client. Nothing is persisted; everything
 * a client sent is readable back through `runs()` / `run()`.
 *
 * What the real client (wandb-core 0.31.0, user-agent `wandb-core`) sent during `wandb sync --entity e
 * --project p <offline-run-dir>`, in order (observed, not guessed):
 *   1. POST /graphql `UpsertBucket` — creates the run: variables name (run id), project, entity,
 *      displayName, groupName, notes, jobType, tags, host, program, config (a JSON *string* of
 *      `{key: {value: v}}`, including `_wandb`), the rest null. Answered `{upsertBucket: {bucket: {id, name,
 *      displayName, description, config, sweepName, project: {id, name, entity: {id, name}},
 *      historyLineCount}, inserted}}`.
 *   2. POST /graphql `NotifyScriptableRunAlert` — one per `wandb.alert()` (recorded offline, replayed).
 *   3. POST /files/:entity/:project/:run/file_stream — `{files: {name: {offset, content: [line…]}}}` for
 *      `wandb-events.jsonl` (system metrics), `wandb-history.jsonl` (offset = line number of content[0])
 *      and `wandb-summary.json` (offset 0, one line: the whole summary). The last post also carries
 *      `uploaded: [names], complete: true, exitcode: 0`. Answered `{exitcode: null, limits: {}}`.
 *      (`output.log` goes the same way when the run printed; the test run did not.)
 *   4. POST /graphql `UpsertBucket` again — name/project/entity and the final config, all else null.
 *   5. POST /graphql `CreateRunFiles` (entity, project, run, files: [names]) — answered
 *      `{createRunFiles: {runID, uploadHeaders: [], files: [{name, uploadUrl}]}}`; then one PUT <uploadUrl>
 *      per file, raw bytes, no Authorization (they stand for signed storage URLs): wandb-metadata.json,
 *      config.yaml, requirements.txt, wandb-summary.json.
 *   Sporadically: POST /sdk/otel/v1/metrics (wandb-core's own telemetry), answered 200, never faulted.
 * Every /graphql and file_stream request had Basic auth `api:<key>`, plain JSON bodies (no
 * Content-Encoding; gzip is accepted anyway) and `Accept-Encoding: gzip`. No Viewer, ServerFeaturesQuery
 * or RunResumeStatus during sync. A 401 makes sync print `wandb: ERROR <errors[0].message>` and stop,
 * yet exit 0. 500, 429 and a reset connection are retried (a few seconds of backoff each).
 *
 * Also answered: `Viewer` (`viewer { entity … }`), `ServerFeaturesQuery`, `RunResumeStatus`,
 * `QueryRunInfo`, `MarkRunFilesUploaded`, `StopRun`. Any other operation gets a GraphQL error and lands in
 * `unknownOperations`. Dispatch is by `operationName`, else by the document's first top-level field (so
 * `query { viewer { entity } }` works); arguments are read from `variables` only, never inline literals.
 * file_stream and uploads for a run not created by UpsertBucket answer 404.
 */
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { serve, type HttpBindings } from '@hono/node-server'
import { Hono, type Context } from 'hono'

export interface FakeRun {
  entity: string
  project: string
  /** The run id (`name` in W&B's API). */
  name: string
  /** The storage id UpsertBucket answers with (`bucket.id`; StopRun takes it). */
  id: string
  displayName: string | null
  group: string | null
  jobType: string | null
  /** Unwrapped: `{lr: 0.01, _wandb: {…}}` from the wire's `{lr: {value: 0.01}, …}`. */
  config: Record<string, unknown>
  tags: string[]
  notes: string | null
  host: string | null
  program: string | null
  /** Each line of `wandb-history.jsonl`, parsed, in offset order; a line re-sent at the same offset (a retried chunk) replaces the earlier one. */
  history: Record<string, unknown>[]
  /** The latest `wandb-summary.json` line, parsed. */
  summary: Record<string, unknown>
  /** Lines of `wandb-events.jsonl` (system metrics), parsed, in offset order. */
  events: Record<string, unknown>[]
  /** Lines of `output.log` (console), in offset order. */
  output: string[]
  /** Bytes PUT to the upload URLs, by file name. */
  files: Map<string, Buffer>
  /** Names a file_stream post listed as `uploaded`. */
  uploaded: string[]
  alerts: { title: string; text: string; severity: string }[]
  /** A file_stream post said `complete: true`. */
  complete: boolean
  exitcode: number | null
  /** UpsertBucket calls for this run (the first one created it). */
  upserts: number
}

export type Fault = '500' | '429' | 'reset'
/** One fault, for the next request that matches: any request, or one whose path contains `path` (a string) or matches it (a RegExp), and/or whose GraphQL operation is `op`. */
export type FaultSpec = Fault | { fault: Fault; path?: string | RegExp; op?: string }

export interface LoggedRequest {
  method: string
  path: string
  /** The GraphQL operation (operationName, else the first field). */
  op?: string
  /** 0 for a 'reset'. */
  status: number
  /** The fault injected instead of an answer. */
  fault?: Fault
}

export interface FakeWandb {
  /** `http://127.0.0.1:PORT`: use as WANDB_BASE_URL. */
  url: string
  /** The 40-character key it accepts (Basic auth `api:<apiKey>`). */
  apiKey: string
  /** The entity `viewer` answers with and runs without one land in. */
  entity: string
  runs(): FakeRun[]
  run(entity: string, project: string, name: string): FakeRun | undefined
  /**
   * Queues faults, each spent on one later request that matches it, in order:
   * `failNext('500', '429')` fails the next two requests; `failNext({ fault: 'reset', path: /file_stream/ })`
   * drops the next file_stream post. '429' answers with `Retry-After: 1`; 'reset' destroys the socket unanswered.
   */
  failNext(...faults: FaultSpec[]): void
  /** Faults queued and not yet spent. */
  pendingFaults(): number
  requests: LoggedRequest[]
  /** GraphQL operations it could not answer (each got a GraphQL error). */
  unknownOperations: string[]
  close(): Promise<void>
}

export interface FakeWandbOptions {
  /** Defaults to 40 random hex characters. */
  apiKey?: string
  /** The viewer's entity; default `fake-entity`. */
  entity?: string
  /** `serverInfo.features` answered to ServerFeaturesQuery. */
  features?: Record<string, boolean>
  port?: number
}

type Vars = Record<string, unknown>
interface RunState extends FakeRun {
  historyLines: Map<number, string>
  eventLines: Map<number, string>
  outputLines: Map<number, string>
}

class GraphQLError extends Error {}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const b64 = (s: string) => Buffer.from(s).toString('base64')
const parseJson = (s: string): unknown => {
  try {
    return JSON.parse(s)
  } catch {
    return s
  }
}

/** The first top-level field of a GraphQL document, and its alias if any. */
export function firstField(query: string): { field: string; alias?: string } | undefined {
  const text = query.replace(/#[^\n]*/g, '')
  const open = text.indexOf('{')
  if (open < 0) return undefined
  const m = /^\s*([_A-Za-z][_0-9A-Za-z]*)\s*(?::\s*([_A-Za-z][_0-9A-Za-z]*))?/.exec(text.slice(open + 1))
  if (!m) return undefined
  return m[2] ? { field: m[2], alias: m[1] } : { field: m[1]! }
}

function operationName(query: string): string | undefined {
  return /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query.replace(/#[^\n]*/g, ''))?.[1]
}

/** Config as W&B sends it (`{key: {value, desc?}}`), unwrapped to `{key: value}`. */
function unwrapConfig(raw: unknown): Record<string, unknown> {
  const parsed = typeof raw === 'string' ? parseJson(raw) : raw
  if (!parsed || typeof parsed !== 'object') return {}
  return Object.fromEntries(
    Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [
      k,
      v && typeof v === 'object' && 'value' in (v as object) ? (v as { value: unknown }).value : v,
    ]),
  )
}

const byOffset = (lines: Map<number, string>) => [...lines.entries()].sort((a, b) => a[0] - b[0]).map(([, line]) => line)

export async function startFakeWandb(options: FakeWandbOptions = {}): Promise<FakeWandb> {
  const apiKey = options.apiKey ?? randomBytes(20).toString('hex')
  const viewerEntity = options.entity ?? 'fake-entity'
  const runs = new Map<string, RunState>()
  const faults: { fault: Fault; path?: string | RegExp; op?: string }[] = []
  const requests: LoggedRequest[] = []
  const unknownOperations: string[] = []
  let baseUrl = ''

  const key = (entity: string, project: string, name: string) => `${entity}/${project}/${name}`
  const runById = (id: string) => [...runs.values()].find((r) => r.id === id)
  const view = (r: RunState): FakeRun => {
    const { historyLines, eventLines, outputLines, ...rest } = r
    return {
      ...rest,
      history: byOffset(historyLines).map((l) => parseJson(l) as Record<string, unknown>),
      events: byOffset(eventLines).map((l) => parseJson(l) as Record<string, unknown>),
      output: byOffset(outputLines),
    }
  }
  const bucketJson = (r: RunState) => ({
    id: r.id,
    name: r.name,
    displayName: r.displayName,
    description: r.notes,
    notes: r.notes,
    config: JSON.stringify(Object.fromEntries(Object.entries(r.config).map(([k, value]) => [k, { value }]))),
    summaryMetrics: JSON.stringify(r.summary),
    sweepName: null,
    tags: r.tags,
    historyLineCount: r.historyLines.size,
    eventsLineCount: r.eventLines.size,
    logLineCount: r.outputLines.size,
    historyTail: JSON.stringify(byOffset(r.historyLines).slice(-10)),
    eventsTail: JSON.stringify(byOffset(r.eventLines).slice(-10)),
    wandbConfig: JSON.stringify({ t: (r.config._wandb as { t?: unknown } | undefined)?.t ?? null }),
    project: { id: b64(`Project:v1:${r.project}:${r.entity}`), name: r.project, entity: { id: b64(`Entity:${r.entity}`), name: r.entity } },
  })
  const need = (vars: Vars, name: string): string => {
    const v = str(vars[name])
    if (v === null) throw new GraphQLError(`Variable "$${name}" of required type "String!" was not provided.`)
    return v
  }
  const existing = (vars: Vars, e: string, p: string, n: string): RunState => {
    const r = runs.get(key(need(vars, e), need(vars, p), need(vars, n)))
    if (!r) throw new GraphQLError(`run ${vars[e]}/${vars[p]}/${vars[n]} not found`)
    return r
  }

  // Answers by operationName, else by top-level field; each returns the value of that field.
  const operations: { op: string; field: string; answer: (vars: Vars) => unknown }[] = [
    {
      op: 'UpsertBucket',
      field: 'upsertBucket',
      answer: (vars) => {
        const byId = str(vars.id) ? runById(str(vars.id)!) : undefined
        const entity = str(vars.entity) ?? byId?.entity ?? viewerEntity
        const project = str(vars.project) ?? byId?.project ?? 'uncategorized'
        const name = str(vars.name) ?? byId?.name ?? randomBytes(4).toString('hex')
        let r = runs.get(key(entity, project, name))
        const inserted = !r
        if (!r) {
          r = {
            entity, project, name, id: b64(`Run:v1:${name}:${project}:${entity}`),
            displayName: null, group: null, jobType: null, config: {}, tags: [], notes: null, host: null, program: null,
            history: [], summary: {}, events: [], output: [], files: new Map(), uploaded: [], alerts: [], complete: false, exitcode: null, upserts: 0,
            historyLines: new Map(), eventLines: new Map(), outputLines: new Map(),
          }
          runs.set(key(entity, project, name), r)
        }
        r.upserts++
        // Like W&B, a null variable leaves the field as it was.
        if (vars.displayName != null) r.displayName = str(vars.displayName)
        if (vars.groupName != null) r.group = str(vars.groupName)
        if (vars.jobType != null) r.jobType = str(vars.jobType)
        if (vars.notes != null) r.notes = str(vars.notes)
        if (vars.host != null) r.host = str(vars.host)
        if (vars.program != null) r.program = str(vars.program)
        if (Array.isArray(vars.tags)) r.tags = vars.tags.map(String)
        if (vars.config != null) r.config = unwrapConfig(vars.config)
        if (vars.summaryMetrics != null) r.summary = parseJson(String(vars.summaryMetrics)) as Record<string, unknown>
        return { bucket: bucketJson(r), inserted }
      },
    },
    {
      op: 'Viewer',
      field: 'viewer',
      answer: () => ({ id: b64(`User:${viewerEntity}`), entity: viewerEntity, username: viewerEntity, email: `${viewerEntity}@example.com`, flags: '{}', teams: { edges: [] } }),
    },
    {
      op: 'ServerFeaturesQuery',
      field: 'serverInfo',
      answer: () => ({ features: Object.entries(options.features ?? {}).map(([name, isEnabled]) => ({ name, isEnabled })) }),
    },
    {
      op: 'RunResumeStatus',
      field: 'model',
      answer: (vars) => {
        const entity = str(vars.entity) ?? viewerEntity
        const project = str(vars.project) ?? 'uncategorized'
        const r = runs.get(key(entity, project, need(vars, 'name')))
        return { id: b64(`Project:v1:${project}:${entity}`), name: project, entity: { id: b64(`Entity:${entity}`), name: entity }, bucket: r ? bucketJson(r) : null }
      },
    },
    {
      op: 'QueryRunInfo',
      field: 'project',
      answer: (vars) => {
        const r = runs.get(key(need(vars, 'entity'), need(vars, 'project'), need(vars, 'run')))
        return { run: r ? { displayName: r.displayName, summaryMetrics: JSON.stringify(r.summary) } : null }
      },
    },
    {
      op: 'CreateRunFiles',
      field: 'createRunFiles',
      answer: (vars) => {
        const r = existing(vars, 'entity', 'project', 'run')
        const files = Array.isArray(vars.files) ? vars.files.map(String) : []
        const at = (f: string) => `${baseUrl}/upload/${[r.entity, r.project, r.name].map(encodeURIComponent).join('/')}/${f.split('/').map(encodeURIComponent).join('/')}`
        return { runID: r.id, uploadHeaders: [], files: files.map((name) => ({ name, uploadUrl: at(name) })) }
      },
    },
    { op: 'MarkRunFilesUploaded', field: 'markRunFilesUploaded', answer: (vars) => (existing(vars, 'entity', 'project', 'run'), { success: true }) },
    {
      op: 'NotifyScriptableRunAlert',
      field: 'notifyScriptableRunAlert',
      answer: (vars) => {
        const r = existing(vars, 'entityName', 'projectName', 'runName')
        r.alerts.push({ title: need(vars, 'title'), text: need(vars, 'text'), severity: str(vars.severity) ?? 'INFO' })
        return { success: true }
      },
    },
    {
      op: 'StopRun',
      field: 'stopRun',
      answer: (vars) => {
        if (!runById(String(vars.id))) throw new GraphQLError(`run ${vars.id} not found`)
        return { success: true }
      },
    },
  ]

  const app = new Hono<Env>()

  // Log, then faults, then auth: a fault hits before the key is checked, as a proxy's would.
  app.use('*', async (c, next) => {
    const entry: LoggedRequest = { method: c.req.method, path: c.req.path, status: 0 }
    requests.push(entry)
    if (c.req.path.startsWith('/sdk/otel/')) {
      // wandb-core's own OpenTelemetry export (sporadic, timing-dependent): accepted, never faulted.
      entry.status = 200
      return c.json({})
    }
    let op: string | undefined
    if (c.req.method === 'POST' && c.req.path === '/graphql') {
      const body = (await readJson(c)) as { query?: string; operationName?: string } | undefined
      op = body?.operationName ?? (body?.query ? (operationName(body.query) ?? firstField(body.query)?.field) : undefined)
      if (op) entry.op = op
      c.set('op', op)
    }
    const i = faults.findIndex(
      (f) => (!f.path || (typeof f.path === 'string' ? c.req.path.includes(f.path) : f.path.test(c.req.path))) && (!f.op || f.op === op),
    )
    if (i >= 0) {
      const [{ fault }] = faults.splice(i, 1) as [{ fault: Fault }]
      entry.fault = fault
      if (fault === 'reset') {
        entry.status = 0
        c.env.incoming.socket.destroy()
        return new Response(null, { status: 599 })
      }
      entry.status = Number(fault)
      if (fault === '429') return c.json({ errors: [{ message: 'rate limit exceeded' }] }, 429, { 'Retry-After': '1' })
      return c.json({ errors: [{ message: 'internal server error (injected)' }] }, 500)
    }
    if (!c.req.path.startsWith('/upload/') && c.req.header('authorization') !== `Basic ${b64(`api:${apiKey}`)}`) {
      entry.status = 401
      return c.json({ errors: [{ message: 'user is not logged in', extensions: { code: 'UNAUTHENTICATED' } }] }, 401)
    }
    await next()
    entry.status = c.res.status
  })

  app.post('/graphql', async (c) => {
    const body = (await readJson(c)) as { query?: string; variables?: Vars; operationName?: string } | undefined
    if (!body?.query) return c.json({ errors: [{ message: 'Must provide query string.' }] }, 400)
    const field = firstField(body.query)
    const name = c.get('op')
    const handler = operations.find((o) => o.op === body.operationName) ?? operations.find((o) => o.field === field?.field)
    if (!handler || !field) {
      unknownOperations.push(name ?? body.query.slice(0, 60))
      return c.json({ errors: [{ message: `fake W&B does not implement operation ${name ?? '?'}`, path: field ? [field.field] : [] }], data: null })
    }
    try {
      return c.json({ data: { [field.alias ?? handler.field]: handler.answer(body.variables ?? {}) } })
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err
      return c.json({ errors: [{ message: err.message, path: [field.alias ?? handler.field] }], data: null })
    }
  })

  app.post('/files/:entity/:project/:run/file_stream', async (c) => {
    const r = runs.get(key(c.req.param('entity'), c.req.param('project'), c.req.param('run')))
    if (!r) return c.json({ error: 'run not found: create it with UpsertBucket first' }, 404)
    const body = (await readJson(c)) as
      | { files?: Record<string, { offset: number; content: string[] }>; complete?: boolean; exitcode?: number; uploaded?: string[] }
      | undefined
    if (!body || typeof body !== 'object') return c.json({ error: 'body must be JSON' }, 400)
    for (const [file, { offset, content }] of Object.entries(body.files ?? {})) {
      const lines = file === 'wandb-history.jsonl' ? r.historyLines : file === 'wandb-events.jsonl' ? r.eventLines : file === 'output.log' ? r.outputLines : undefined
      if (lines) content.forEach((line, i) => lines.set(offset + i, line))
      else if (file === 'wandb-summary.json' && content.length) r.summary = parseJson(content.at(-1)!) as Record<string, unknown>
    }
    for (const name of body.uploaded ?? []) if (!r.uploaded.includes(name)) r.uploaded.push(name)
    if (body.complete) {
      r.complete = true
      r.exitcode = body.exitcode ?? null
    }
    return c.json({ exitcode: null, limits: {} })
  })

  app.put('/upload/:entity/:project/:run/*', async (c) => {
    const r = runs.get(key(c.req.param('entity'), c.req.param('project'), c.req.param('run')))
    if (!r) return c.text('no such run', 404)
    const prefix = `/upload/${[r.entity, r.project, r.name].map(encodeURIComponent).join('/')}/`
    const raw = new URL(c.req.url).pathname
    const name = raw.slice(prefix.length).split('/').map(decodeURIComponent).join('/')
    r.files.set(name, Buffer.from(await c.req.arrayBuffer()))
    return c.body(null, 200)
  })

  app.notFound((c) => c.json({ error: `fake W&B has no route ${c.req.method} ${c.req.path}` }, 404))

  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: '127.0.0.1' }, () => resolve(s as Server)) as Server
  })
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: baseUrl,
    apiKey,
    entity: viewerEntity,
    runs: () => [...runs.values()].map(view),
    run: (entity, project, name) => {
      const r = runs.get(key(entity, project, name))
      return r && view(r)
    },
    failNext: (...specs) => faults.push(...specs.map((s) => (typeof s === 'string' ? { fault: s } : s))),
    pendingFaults: () => faults.length,
    requests,
    unknownOperations,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

type Env = { Bindings: HttpBindings; Variables: { op?: string; body?: unknown } }

/** The body as JSON (null if it is not), gunzipped if sent with `Content-Encoding: gzip`; parsed once per request. */
async function readJson(c: Context<Env>): Promise<unknown> {
  if (c.get('body') !== undefined) return c.get('body')
  let bytes = Buffer.from(await c.req.arrayBuffer())
  if (c.req.header('content-encoding') === 'gzip') bytes = gunzipSync(bytes)
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    value = null
  }
  c.set('body', value)
  return value
}
