import { expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'


function app() {
  const store = new RunStore()
  store.ingest(lines.map((line) => JSON.parse(line)))
  return createApp({ store })
}

test('GET /api/runs/:run/overview answers the sparsity matrix, first and latest samples and per-step events', async () => {
  const response = await app().request(`/api/runs/${RUN}/overview?points=5`)
  expect(response.status).toBe(200)
  const overview = await response.json()
  expect(overview.steps).toEqual([0, 100])
  expect(overview.sparsity).toEqual([[0.875, 0], [0.875, 0.25]])
  expect([overview.first.step, overview.latest.step]).toEqual([0, 100])
  expect(overview.events.map((e: { op: string; count: number }) => `${e.op}${e.count}`)).toEqual(['drop1', 'grow1'])
})

test("GET /api/runs/:run/layer answers one layer's points and events", async () => {
  const response = await app().request(`/api/runs/${RUN}/layer?name=head`)
  expect(response.status).toBe(200)
  const history = await response.json()
  expect(history.points.map((p: { step: number; nnz: number }) => [p.step, p.nnz])).toEqual([[0, 8], [100, 6]])
  expect(history.events).toEqual([])
})

test('bad parameters are answered 400 or 404 with what was wrong', async () => {
  const cases: [string, number, string][] = [
    [`/api/runs/${RUN}/overview?points=1`, 400, 'query parameter "points" must be an integer from 2 to 10000, got "1"'],
    [`/api/runs/${RUN}/overview?points=abc`, 400, 'query parameter "points" must be an integer from 2 to 10000, got "abc"'],
    [`/api/runs/${RUN}/layer`, 400, 'query parameter "name" must name a layer'],
    [`/api/runs/${RUN}/layer?name=fc9`, 404, `run ${RUN} has no layer "fc9"`],
    ['/api/runs/nope/overview', 404, 'no run nope'],
    ['/api/runs/..%2Fetc/layer?name=fc1', 400, 'invalid run id "../etc"'],
  ]
  for (const [path, status, error] of cases) {
    const response = await app().request(path)
    expect([path, response.status, (await response.json()).error]).toEqual([path, status, error])
  }
})
