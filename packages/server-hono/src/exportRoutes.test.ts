import { expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { exportRoutes } from './exportRoutes.js'

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
