import { Hono } from 'hono'
import { validator } from 'hono/validator'
import { LAYER_POINTS, OVERVIEW_POINTS, isValidRunId, layerHistory, runOverview, type RunStore } from '@sparselab-profiler/core'
import { queryValue } from './queryValue.js'

export interface RunRoutesOptions {
  store: RunStore
}

const MAX_POINTS = 10_000

/** `?points=` as an integer in [2, MAX_POINTS], or the error message. */
function pointsParameter(value: string | undefined, fallback: number): number | string {
  if (value === undefined) return fallback
  const points = Number(value)
  return Number.isInteger(points) && points >= 2 && points <= MAX_POINTS
    ? points
    : `query parameter "points" must be an integer from 2 to ${MAX_POINTS}, got ${JSON.stringify(value)}`
}

// The id must be a run id (nothing that reads as a path) before any lookup.
const runIdParameter = validator('param', (params, c) => {
  const { run } = params
  return run === undefined || isValidRunId(run) ? params : c.json({ error: `invalid run id ${JSON.stringify(run)}` }, 400)
})

const overviewQuery = validator('query', (query, c) => {
  const points = pointsParameter(queryValue(query, 'points'), OVERVIEW_POINTS)
  return typeof points === 'string' ? c.json({ error: points }, 400) : { points }
})

const layerQuery = validator('query', (query, c) => {
  const points = pointsParameter(queryValue(query, 'points'), LAYER_POINTS)
  if (typeof points === 'string') return c.json({ error: points }, 400)
  const name = queryValue(query, 'name')
  return name ? { points, name } : c.json({ error: 'query parameter "name" must name a layer' }, 400)
})

/**
 * `GET /` lists the runs; `GET /:run` answers a run's snapshot, `/:run/overview` and `/:run/layer` what
 * the dashboard loads, sized by `?points=` whatever the run's length and layer count, `/:run/flags` its findings.
 * @example app.route('/api/runs', runRoutes({ store }))
 */
export function runRoutes(options: RunRoutesOptions) {
  const { store } = options
  return (
    new Hono()
      .get('/', (c) => c.json({ runs: store.listRuns() }))
      // `/:run/*` matches `/:run` too: every route below checks its id here, and so does a path that no route takes.
      .use('/:run/*', runIdParameter)
      .get('/:run', (c) => {
        const run = c.req.param('run')
        const snapshot = store.snapshot(run)
        return snapshot ? c.json(snapshot) : c.json({ error: `no run ${run}` }, 404)
      })
      .get('/:run/overview', overviewQuery, (c) => {
        const run = c.req.param('run')
        const snapshot = store.snapshot(run)
        return snapshot ? c.json(runOverview(snapshot, c.req.valid('query').points)) : c.json({ error: `no run ${run}` }, 404)
      })
      .get('/:run/layer', layerQuery, (c) => {
        const run = c.req.param('run')
        const { points, name } = c.req.valid('query')
        const snapshot = store.snapshot(run)
        if (!snapshot) return c.json({ error: `no run ${run}` }, 404)
        const history = layerHistory(snapshot, name, points)
        return history ? c.json(history) : c.json({ error: `run ${run} has no layer ${JSON.stringify(name)}` }, 404)
      })
      .get('/:run/flags', (c) => {
        const run = c.req.param('run')
        const flags = store.flags(run)
        return flags ? c.json({ flags }) : c.json({ error: `no run ${run}` }, 404)
      })
  )
}
