import { createParser } from 'eventsource-parser'
import { describe, expect, test } from 'vitest'
import { RunStore, layerHistory, runOverview, type WireRecord } from '@sparselab-profiler/core'
import { createApp } from '@sparselab-profiler/server-hono'
import { RUN, runRecord, sample } from './fakeRunsClient.test-support.js'
import { runsClient } from './runsClient.js'

/** A client on a real server app holding the run, answered in-process through `app.request`. */
function served(token?: string) {
  const store = new RunStore({ now: () => 0 })
  store.ingest([runRecord, sample(1), sample(2), sample(3)])
  const app = createApp({ store, token })
  return { store, client: runsClient({ url: 'http://127.0.0.1:8080', token, fetch: async (input, init) => app.request(input, init) }) }
}

/** The records of an SSE stream, parsed as the dashboard parses them, until `count` were read. */
async function readRecords(body: NonNullable<Response['body']>, count: number): Promise<{ id: string | undefined; record: WireRecord }[]> {
  const read: { id: string | undefined; record: WireRecord }[] = []
  const parser = createParser({ onEvent: (event) => read.push({ id: event.id, record: JSON.parse(event.data) as WireRecord }) })
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  while (read.length < count) {
    const { value, done } = await reader.read()
    if (done) break
    parser.feed(value)
  }
  await reader.cancel()
  return read
}

describe('runsClient against the server app', () => {
  test('lists runs and answers the overview and a layer history as the server computes them', async () => {
    const { store, client } = served('s3cret')
    expect(await client.listRuns()).toEqual(store.listRuns())
    expect(await client.overview(RUN, { points: 2 })).toEqual(JSON.parse(JSON.stringify(runOverview(store.snapshot(RUN)!, 2))))
    expect(await client.layerHistory(RUN, 'fc2', { points: 500 })).toEqual(JSON.parse(JSON.stringify(layerHistory(store.snapshot(RUN)!, 'fc2', 500))))
  })

  test('streams the records after `after`, then those ingested later', async () => {
    const { store, client } = served('s3cret')
    const body = await client.stream(RUN, { after: 1 })
    setTimeout(() => store.ingest([sample(4)]), 20)
    const read = await readRecords(body, 3)
    expect(read.map((event) => event.id)).toEqual(['2', '3', '4'])
    expect(read.map((event) => event.record)).toEqual([sample(2), sample(3), sample(4)])
  })

  test("exports the run's report as HTML", async () => {
    const { client } = served('s3cret')
    const report = await client.exportReport({ run: RUN, title: 'Nightly', sections: ['memory'] })
    expect(report.type).toMatch(/^text\/html/)
    expect(await report.text()).toContain('<title>Nightly</title>')
  })

  test('exports the compare report of two runs as HTML', async () => {
    const { store, client } = served('s3cret')
    const other = (r: WireRecord): WireRecord => ({ ...r, run: 'run-2' })
    store.ingest([runRecord, sample(1), sample(2)].map(other))
    const report = await client.exportCompareReport({ run: RUN, compare: ['run-2'], align: 'step', title: 'A vs B' })
    expect(report.type).toMatch(/^text\/html/)
    expect(await report.text()).toContain('<title>A vs B</title>')
    await expect(client.exportCompareReport({ run: RUN, compare: ['nope'], align: 'step', title: 'T' })).rejects.toThrow('no run nope')
  })

  test("rejects with the server's error: an unknown run, a missing layer, a wrong token", async () => {
    const { client } = served('s3cret')
    await expect(client.overview('nope')).rejects.toThrow('no run nope')
    await expect(client.layerHistory(RUN, 'fc9')).rejects.toThrow(`run ${RUN} has no layer "fc9"`)
    await expect(client.stream('nope', { after: -1 })).rejects.toThrow()
    const stranger = runsClient({ url: 'http://127.0.0.1:8080', token: 'wrong', fetch: async (input, init) => createApp({ store: new RunStore(), token: 's3cret' }).request(input, init) })
    await expect(stranger.listRuns()).rejects.toThrow('runs answered 401')
  })
})

describe('runsClient requests', () => {
  /** A client on a fake fetch that records each request and answers `answer`. */
  function recorded(answer: () => Response = () => Response.json({ runs: [] })) {
    const calls: { url: string; method: string; headers: Record<string, string>; cache?: string; body?: unknown }[] = []
    const client = runsClient({
      url: 'http://lab:8080',
      token: 't0k',
      fetch: async (url, init) => {
        calls.push({ url, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, cache: init.cache, body: init.body })
        return answer()
      },
    })
    return { calls, client }
  }

  test('each route, its query and headers, spelled once here', async () => {
    const { calls, client } = recorded()
    await client.listRuns()
    await client.overview('a.b', { points: 300 })
    await client.layerHistory('a.b', 'enc/fc 1&x', { points: 500 })
    await client.layerHistory('a.b', 'fc1')
    await client.stream('a.b', { after: 41 })
    await client.exportReport({ run: 'a.b', title: 'T', sections: ['csv'] })
    const auth = { Authorization: 'Bearer t0k' }
    expect(calls).toEqual([
      { url: 'http://lab:8080/api/runs', method: 'GET', headers: auth, cache: 'no-store', body: undefined },
      { url: 'http://lab:8080/api/runs/a.b/overview?points=300', method: 'GET', headers: auth, cache: 'no-store', body: undefined },
      { url: 'http://lab:8080/api/runs/a.b/layer?name=enc%2Ffc%201%26x&points=500', method: 'GET', headers: auth, cache: 'no-store', body: undefined },
      { url: 'http://lab:8080/api/runs/a.b/layer?name=fc1', method: 'GET', headers: auth, cache: 'no-store', body: undefined },
      { url: 'http://lab:8080/stream?run=a.b', method: 'GET', headers: { ...auth, Accept: 'text/event-stream', 'Last-Event-ID': '41' }, cache: 'no-store', body: undefined },
      { url: 'http://lab:8080/export', method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, cache: undefined, body: '{"run":"a.b","title":"T","sections":["csv"]}' },
    ])
  })

  test('the compare report: POST /export with the compared runs and their alignment beside the run, as JSON', async () => {
    const { calls, client } = recorded(() => new Response('<html></html>', { headers: { 'Content-Type': 'text/html' } }))
    const report = await client.exportCompareReport({ run: 'a.b', compare: ['c', 'd'], align: 'fraction', title: 'A vs B' })
    expect(await report.text()).toBe('<html></html>')
    expect(calls).toEqual([
      {
        url: 'http://lab:8080/export',
        method: 'POST',
        headers: { Authorization: 'Bearer t0k', 'Content-Type': 'application/json' },
        cache: undefined,
        body: '{"run":"a.b","compare":["c","d"],"align":"fraction","title":"A vs B"}',
      },
    ])
  })

  test('no token, no Authorization header; the url defaults to the page origin', async () => {
    const calls: [string, RequestInit][] = []
    const client = runsClient({ fetch: async (url, init) => (calls.push([url, init]), Response.json({ runs: [] })) })
    await client.listRuns()
    expect(calls).toEqual([['/api/runs', { cache: 'no-store', signal: undefined, headers: {} }]])
  })

  test('an answer without a JSON error is named by route and status', async () => {
    const { client } = recorded(() => new Response('Forbidden', { status: 403 }))
    await expect(client.exportReport({ run: 'a', title: 'T', sections: [] })).rejects.toThrow('export answered 403')
  })
})
