import { expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
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

/** The store holding the vectors' run and a copy of it under another id: two runs to compare. */
function storeWithTwoRuns() {
  const store = new RunStore()
  store.ingest(lines.map((line) => JSON.parse(line)))
  store.ingest(lines.map((line) => ({ ...JSON.parse(line), run: 'run-b' })))
  return store
}
const STUB_LIBRARIES = { vega: '', vegaLite: '', vegaEmbed: '' }

test('a malformed comparison is answered 400 naming the field, before any run is looked up', async () => {
  const list = (got: string) => `field "compare" must be a list of up to 3 run ids, got ${got}`
  const cases: [body: unknown, error: string][] = [
    [{ run: 'a', compare: 'b' }, list('"b"')],
    [{ run: 'a', compare: [7] }, list('[7]')],
    [{ run: 'a', compare: ['../b'] }, list('["../b"]')],
    [{ run: 'a', compare: ['b', 'c', 'd', 'e'] }, list('["b","c","d","e"]')],
    [{ run: 'a', compare: ['b', 'a'] }, 'a comparison takes different runs, got a twice'],
    [{ run: 'a', compare: ['b'], align: 'time' }, 'field "align" must be "step" or "fraction", got "time"'],
  ]
  for (const [body, error] of cases) {
    const response = await post(JSON.stringify(body))
    expect([body, response.status, await response.json()]).toEqual([body, 400, { error }])
  }
})

test('a comparison naming a run the store does not hold is answered 404 naming it', async () => {
  const response = await exportRoutes({ store: storeWithTwoRuns(), vegaLibraries: STUB_LIBRARIES }).request('/', {
    method: 'POST', body: JSON.stringify({ run: RUN, compare: ['run-b', 'run-c'] }), headers: { 'Content-Type': 'application/json' },
  })
  expect([response.status, await response.json()]).toEqual([404, { error: 'no run run-c' }])
})

test('run and compare give the compare report as an attachment, each run read through completeRun, A first', async () => {
  const store = storeWithTwoRuns()
  const read: string[] = []
  const completeRun = (run: string) => (read.push(run), store.snapshot(run))
  const response = await exportRoutes({ store, completeRun, vegaLibraries: STUB_LIBRARIES }).request('/', {
    method: 'POST', body: JSON.stringify({ run: 'run-b', compare: [RUN], align: 'fraction', title: 'B <vs> A' }), headers: { 'Content-Type': 'application/json' },
  })
  expect(response.status).toBe(200)
  expect(response.headers.get('Content-Disposition')).toMatch(/^attachment; filename="sparsity_compare_\d{4}-\d{2}-\d{2}\.html"$/)
  expect(read.sort()).toEqual([RUN, 'run-b'].sort())
  const html = await response.text()
  expect(html).toContain('<title>B &lt;vs&gt; A</title>')
  // the first run named is A, the baseline; the alignment asked for is the one used and said
  const cards = [...html.matchAll(/Run ([A-D])<\/dt><dd>(?:(?!<\/dd>).)*· ([^<]+)<\/small><\/dd>/g)].map((m) => [m[1], m[2]])
  expect(cards).toEqual([['A', 'run-b'], ['B', RUN]])
  expect(html).toContain('<p class="alignment">Lined up by the fraction of each run&#39;s training')
  expect(html.match(/id="chart-[^"]+"/g)).toContain('id="chart-sparsity-difference-B"')
})

test('a comparison passes the same guards as any export: a foreign Origin gets 403, the page’s own gets the report', async () => {
  const app = createApp({ store: storeWithTwoRuns(), vegaLibraries: STUB_LIBRARIES })
  const body = JSON.stringify({ run: RUN, compare: ['run-b'] })
  const request = (origin: string) =>
    app.request('http://127.0.0.1:8080/export', { method: 'POST', body, headers: { 'Content-Type': 'application/json', Host: '127.0.0.1:8080', Origin: origin } })
  expect((await request('https://evil.example')).status).toBe(403)
  const own = await request('http://127.0.0.1:8080')
  expect(own.status).toBe(200)
  expect(own.headers.get('Content-Disposition')).toMatch(/sparsity_compare_/)
})
