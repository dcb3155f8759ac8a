import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { validator } from 'hono/validator'
import { isValidRunId, type RunStore } from '@sparselab-profiler/core'
import { queryValue } from './queryValue.js'
import { streamRun } from './streamRun.js'

export interface StreamRoutesOptions {
  store: RunStore
  /** Seconds between SSE keep-alive comments. @default 15 */
  keepAliveSeconds?: number
  /** Records buffered for one SSE client that reads too slowly; beyond it the client is dropped and resumes with Last-Event-ID. @default 10000 */
  maxQueued?: number
}

const streamQuery = validator('query', (query, c) => {
  const run = queryValue(query, 'run') ?? ''
  if (!isValidRunId(run)) return c.json({ error: `query parameter "run" must be a run id, got ${JSON.stringify(run)}` }, 400)
  return { run, after: queryValue(query, 'after') }
})

/**
 * `GET /?run=R` (mounted at `/stream`): the run's records as SSE, id = seq, resuming after
 * `Last-Event-ID` (or `?after=`, for clients that cannot set headers).
 * @example app.route('/stream', streamRoutes({ store }))
 */
export function streamRoutes(options: StreamRoutesOptions) {
  const { store } = options
  const keepAliveMs = (options.keepAliveSeconds ?? 15) * 1000
  return new Hono().get('/', streamQuery, (c) => {
    const { run, after: afterQuery } = c.req.valid('query')
    if (!store.has(run)) return c.json({ error: `no run ${run}` }, 404)
    const lastEventId = Number(c.req.header('Last-Event-ID') ?? afterQuery ?? -1)
    const after = Number.isInteger(lastEventId) ? lastEventId : -1
    return streamSSE(c, (stream) => streamRun(stream, { store, run, after, keepAliveMs, maxQueued: options.maxQueued }))
  })
}
