import { expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { exportRoutes } from './exportRoutes.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'

const post = (body: string) =>
  exportRoutes({ store: new RunStore() }).request('/', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })

test('each malformed request is answered 400 naming what was wrong, before the run is looked up', async () => {
  const sections = 'field "sections" must be a list of "sparsity", "weights", "memory", "events", "csv", "latency"'
  const cases: [body: string, error: string][] = [
    ['{"run": ', 'body must be JSON: {"run": "<run id>", "title": "..."}'],
    ['', 'body must be JSON: {"run": "<run id>", "title": "..."}'],
    ['{}', 'field "run" must be a run id, got undefined'],
    ['null', 'field "run" must be a run id, got undefined'],
    ['["run"]', 'field "run" must be a run id, got undefined'],
    ['{"run": 7}', 'field "run" must be a run id, got 7'],
    ['{"run": "../x"}', 'field "run" must be a run id, got "../x"'],
    ['{"run": "r", "title": 5}', 'field "title" must be a string'],
    ['{"run": "r", "sections": "sparsity"}', sections],
    ['{"run": "r", "sections": ["sparsity", "toString"]}', sections],
  ]
  for (const [body, error] of cases) {
    const response = await post(body)
    expect([body, response.status, await response.json()]).toEqual([body, 400, { error }])
  }
})

test('a well-formed request for a run the store does not hold is answered 404', async () => {
  const response = await post('{"run": "r", "title": "T", "sections": []}')
  expect([response.status, await response.json()]).toEqual([404, { error: 'no run r' }])
})

test('an export inlines the Vega builds it was given, and nothing read from node_modules', async () => {
  const store = new RunStore()
  store.ingest(lines.map((line) => JSON.parse(line)))
  const vegaLibraries = { vega: 'window.vegaStub = 1', vegaLite: 'window.vegaLiteStub = 2', vegaEmbed: 'window.vegaEmbedStub = 3' }
  const response = await exportRoutes({ store, vegaLibraries }).request('/', { method: 'POST', body: JSON.stringify({ run: RUN }), headers: { 'Content-Type': 'application/json' } })
  expect(response.status).toBe(200)
  const scripts = [...(await response.text()).matchAll(/<script>(.*?)<\/script>/gs)].map((m) => m[1])
  expect(scripts.slice(0, 3)).toEqual(['window.vegaStub = 1', 'window.vegaLiteStub = 2', 'window.vegaEmbedStub = 3'])
})
