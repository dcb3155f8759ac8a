import { describe, expect, test } from 'vitest'
import { RunStore, type RunRecord } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'


function setup(options: { maxIngestBytes?: number; token?: string } = {}) {
  const store = new RunStore()
  const app = createApp({ store, ...options })
  const ingest = (body: string, headers: Record<string, string> = {}) =>
    app.request('/api/ingest', { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson', ...headers } })
  return { store, app, ingest }
}

describe('POST /api/ingest', () => {
  test('stores a batch and acks the last seq', async () => {
    const { ingest, store } = setup()
    const response = await ingest(lines.slice(0, 3).join('\n'))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ acks: { [RUN]: 2 } })
    expect(store.snapshot(RUN)!.events).toHaveLength(1)
  })

  test('an invalid record gets 400 naming line and field; earlier records stay intact and the server keeps going', async () => {
    const { ingest, store } = setup()
    await ingest(lines.slice(0, 2).join('\n'))
    const before = JSON.stringify(store.snapshot(RUN))

    const bad = JSON.parse(lines[2]!)
    bad.count = -4
    const response = await ingest([lines[2], lines[3], JSON.stringify(bad)].join('\n'))
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: string; line: number; path: string }
    expect(body).toMatchObject({ line: 3, path: 'count' })
    expect(body.error).toBe('line 3, field "count": expected an integer ≥ 0, got -4')
    expect(JSON.stringify(store.snapshot(RUN))).toBe(before)

    const next = await ingest(lines.slice(2).join('\n'))
    expect(await next.json()).toEqual({ acks: { [RUN]: 8 } })
  })

  test('an empty batch naming its run is a heartbeat that answers the ack', async () => {
    const { ingest, app } = setup()
    await ingest(lines.slice(0, 2).join('\n'))
    const beat = (run: string) => app.request(`/api/ingest?run=${run}`, { method: 'POST', body: '', headers: { 'Content-Type': 'application/x-ndjson' } })
    expect(await (await beat(RUN)).json()).toEqual({ acks: { [RUN]: 1 } })
    expect(await (await beat('other-run')).json()).toEqual({ acks: { 'other-run': -1 } })
    expect((await beat('../x')).status).toBe(400)
  })

  test('a body over the limit gets 413 and changes nothing', async () => {
    const { ingest, store } = setup({ maxIngestBytes: 1000 })
    const response = await ingest(lines.join('\n'))
    expect(response.status).toBe(413)
    expect((await response.json()) as { error: string }).toEqual({ error: 'body larger than 1000 bytes; send smaller batches' })
    expect(store.listRuns()).toEqual([])
  })
})

describe('runs API and export', () => {
  test('lists runs and serves a snapshot', async () => {
    const { ingest, app } = setup()
    await ingest(lines.join('\n'))
    expect(await (await app.request('/api/runs')).json()).toEqual({
      runs: [{ run: RUN, name: 'resnet-set', started: 1744712100.5, lastStep: 100, lastSeq: 8, status: 'finished' }],
    })
    const snapshot = (await (await app.request(`/api/runs/${RUN}`)).json()) as { samples: unknown[]; layerChanges: { seq: number }[]; run: RunRecord }
    expect(snapshot.samples).toHaveLength(2)
    expect(snapshot.layerChanges.map((c) => c.seq)).toEqual([6])
    expect(snapshot.run.layers.map((l) => `${l.name} ${l.dtype}`)).toEqual(['fc1 float32', 'head bfloat16']) // as the layer record left it
    expect((await app.request('/api/runs/nope')).status).toBe(404)
    expect((await app.request('/api/runs/..%2Fetc')).status).toBe(400)
  })

  test('POST /export answers one HTML attachment named after date and step', async () => {
    const { ingest, app } = setup()
    await ingest(lines.join('\n'))
    const response = await app.request('/export', { method: 'POST', body: JSON.stringify({ run: RUN, title: 'My <b>run</b>' }), headers: { 'Content-Type': 'application/json' } })
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/)
    expect(response.headers.get('Content-Disposition')).toMatch(/^attachment; filename="sparsity_report_\d{4}-\d{2}-\d{2}_100\.html"$/)
    const html = await response.text()
    expect(html).toContain('<title>My &lt;b&gt;run&lt;/b&gt;</title>')
    expect(html).not.toMatch(/<script[^>]+src=/)
  })
})

test('exports use the complete history when the run log has it, not just what the store holds', async () => {
  const store = new RunStore()
  const complete = new RunStore()
  store.ingest(lines.slice(0, 2).map((line) => JSON.parse(line))) // the run record and its first sample
  complete.ingest(lines.map((line) => JSON.parse(line)))
  const app = createApp({ store, completeRun: (run) => complete.snapshot(run) })
  const csvRows = async (application: typeof app) => {
    const html = await (await application.request('/export', { method: 'POST', body: JSON.stringify({ run: RUN }), headers: { 'Content-Type': 'application/json' } })).text()
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as { csv: string }
    return data.csv.trim().split('\n').length - 1
  }
  expect(store.snapshot(RUN)!.samples).toHaveLength(1)
  expect(await csvRows(app)).toBe(4) // 2 samples x 2 layers
  expect(await csvRows(createApp({ store }))).toBe(2)
})

describe('GET /stream', () => {
  async function readEvents(response: Response, count: number): Promise<{ id: string; event: string }[]> {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const events: { id: string; event: string }[] = []
    while (events.length < count) {
      const { value, done } = await reader.read()
      if (done) break
      text += value
      const blocks = text.split('\n\n')
      text = blocks.pop()!
      for (const block of blocks) {
        const id = /^id: (.*)$/m.exec(block)?.[1]
        const event = /^event: (.*)$/m.exec(block)?.[1]
        if (id && event) events.push({ id, event })
      }
    }
    await reader.cancel()
    return events
  }

  test('replays after Last-Event-ID, then follows live records, ids = seq', async () => {
    const { ingest, app } = setup()
    await ingest(lines.slice(0, 3).join('\n'))
    const response = await app.request(`/stream?run=${RUN}`, { headers: { 'Last-Event-ID': '1' } })
    expect(response.headers.get('Content-Type')).toMatch(/^text\/event-stream/)
    const pending = readEvents(response, 7)
    await ingest(lines.slice(3).join('\n'))
    expect(await pending).toEqual([
      { id: '2', event: 'event' },
      { id: '3', event: 'event' },
      { id: '4', event: 'sample' },
      { id: '5', event: 'sampler' },
      { id: '6', event: 'layer' },
      { id: '7', event: 'metric' },
      { id: '8', event: 'end' },
    ])
  })

  test('an idle stream gets keep-alive comments', async () => {
    const store = new RunStore()
    store.ingest(lines.slice(0, 1).map((line) => JSON.parse(line)))
    const app = createApp({ store, keepAliveSeconds: 0.05 })
    const response = await app.request(`/stream?run=${RUN}`, { headers: { 'Last-Event-ID': '0' } })
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    while (!text.includes(': keep-alive\n\n')) text += (await reader.read()).value ?? ''
    await reader.cancel()
    expect(text.startsWith(': keep-alive')).toBe(true) // nothing after seq 0 to replay, only the comment
  })

  test('rejects unknown runs and bad ids', async () => {
    const { app } = setup()
    expect((await app.request('/stream?run=missing')).status).toBe(404)
    expect((await app.request('/stream?run=../x')).status).toBe(400)
  })
})

test('with a token, requests without it get 401', async () => {
  const { app } = setup({ token: 's3cret' })
  expect((await app.request('/api/runs')).status).toBe(401)
  expect((await app.request('/api/runs', { headers: { Authorization: 'Bearer s3cret' } })).status).toBe(200)
})
