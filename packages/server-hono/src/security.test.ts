import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { startServer, type RunningServer } from './startServer.js'

const lines = readFileSync(fileURLToPath(new URL('../../../test/vectors/valid.ndjson', import.meta.url)), 'utf8').trim().split('\n')
const RUN = JSON.parse(lines[0]!).run as string
const TOKEN = 's3cret'
const dashboard = { html: '<!doctype html><title>dashboard</title>', script: 'console.log("dashboard")' }

function storeWithRun() {
  const store = new RunStore({ now: () => 1_000_000 })
  store.ingest(lines.slice(0, 5).map((line) => JSON.parse(line)))
  return store
}
const stateOf = (store: RunStore) => JSON.stringify({ runs: store.listRuns(), snapshot: store.snapshot(RUN) })

describe('with a token, every route needs it', () => {
  const routes: [method: string, path: string, body?: string][] = [
    ['POST', '/api/ingest', lines[5]],
    ['POST', `/api/ingest?run=${RUN}`, ''],
    ['GET', '/api/runs'],
    ['GET', `/api/runs/${RUN}`],
    ['GET', `/stream?run=${RUN}`],
    ['POST', '/export', JSON.stringify({ run: RUN })],
    ['GET', '/'],
    ['GET', '/assets/dashboard.js'],
  ]

  test.each(routes)('%s %s: 401 without it or with a wrong one, 400 for a malformed header; nothing stored', async (method, path, body) => {
    const store = storeWithRun()
    const app = createApp({ store, token: TOKEN, dashboard })
    const before = stateOf(store)
    const send = (headers: Record<string, string>) => app.request(path, { method, body, headers })
    const missing = await send({})
    expect([missing.status, missing.headers.get('WWW-Authenticate'), await missing.text()]).toEqual([401, 'Bearer realm=""', 'Unauthorized'])
    const wrong = await send({ Authorization: 'Bearer s3cret-not' })
    expect([wrong.status, wrong.headers.get('WWW-Authenticate'), await wrong.text()]).toEqual([401, 'Bearer error="invalid_token"', 'Unauthorized'])
    for (const malformed of [TOKEN, `Basic ${btoa(`user:${TOKEN}`)}`, 'Bearer ']) expect((await send({ Authorization: malformed })).status).toBe(400)
    expect(stateOf(store)).toBe(before)
  })

  test.each(routes)('%s %s answers 200 with it', async (method, path, body) => {
    const app = createApp({ store: storeWithRun(), token: TOKEN, dashboard })
    const response = await app.request(path, { method, body, headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(response.status).toBe(200)
    await response.body?.cancel() // the stream never ends by itself
  })
})

describe('binding beyond loopback', () => {
  test.each([
    ['::', undefined],
    ['0.0.0.0', ''],
    ['192.0.2.1', undefined],
  ])('%s with token %j refuses to start', async (host, token) => {
    await expect(startServer({ host, token, port: 0, logdir: '/nonexistent' })).rejects.toThrow(
      `refusing to listen on ${host} without a token: pass --token so only people who have it can read or send runs`,
    )
  })
})

describe('CORS', () => {
  const FOREIGN = 'https://evil.example'
  const preflight = { method: 'OPTIONS', headers: { Origin: FOREIGN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'Content-Type' } }

  test('is closed by default: a foreign origin gets no Access-Control-Allow-Origin, and its preflight is not answered', async () => {
    const app = createApp({ store: storeWithRun() })
    const read = await app.request('/api/runs', { headers: { Origin: FOREIGN } })
    expect(read.status).toBe(200)
    expect(read.headers.get('Access-Control-Allow-Origin')).toBeNull()
    const options = await app.request('/api/ingest', preflight)
    expect(options.status).toBe(404)
    expect(options.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(options.headers.get('Access-Control-Allow-Methods')).toBeNull()
  })

  test('opens only to the origins named', async () => {
    const app = createApp({ store: storeWithRun(), corsOrigins: ['https://tool.example'] })
    expect((await app.request('/api/runs', { headers: { Origin: FOREIGN } })).headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect((await app.request('/api/ingest', preflight)).headers.get('Access-Control-Allow-Origin')).toBeNull()
    const allowed = await app.request('/api/runs', { headers: { Origin: 'https://tool.example' } })
    expect(allowed.headers.get('Access-Control-Allow-Origin')).toBe('https://tool.example')
  })
})

describe('run ids that climb out of the log directory', () => {
  let base: string
  let logdir: string
  let server: RunningServer
  let before: string[]

  /** Every path under `dir`, relative to it, sorted. */
  const listTree = (dir: string): string[] =>
    (readdirSync(dir, { recursive: true }) as string[]).map((p) => p.split('\\').join('/')).sort()

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'sparselab-security-'))
    logdir = join(base, 'logs')
    mkdirSync(join(logdir, RUN), { recursive: true })
    writeFileSync(join(logdir, RUN, 'records.ndjson'), `${lines.join('\n')}\n`)
    // A valid run log next to the log directory: reachable only by climbing out of it.
    mkdirSync(join(base, 'outside'))
    writeFileSync(join(base, 'outside', 'records.ndjson'), `${lines.map((l) => l.replaceAll(RUN, 'outside')).join('\n')}\n`)
    before = listTree(base)
    server = await startServer({ port: 0, logdir })
  })

  afterAll(async () => {
    await server.close()
    rmSync(base, { recursive: true, force: true })
  })

  const IDS = ['../x', '..', '../outside', '../../etc/passwd', 'x/../../outside', 'a/b', 'a\\b', '..\\outside', '/etc/passwd', '.hidden', '..%2F..%2Fetc', '%2e%2e']
  const RUN_ID_RULE = 'a run id (letters, digits, ".", "_", "-"; at most 128; no "..")'

  // '..' alone as a path segment is resolved away by the URL parser before routing; the next test covers it.
  test.each(IDS)('%j is answered 400 on every route that takes a run id', async (id) => {
    const url = server.url
    const post = (path: string, body: string) => fetch(`${url}${path}`, { method: 'POST', body })
    const quoted = JSON.stringify(id)
    const notARunId = `expected ${RUN_ID_RULE}, got ${quoted}`
    const answers: [route: string, response: Response, expected: unknown][] = [
      ['/stream', await fetch(`${url}/stream?run=${encodeURIComponent(id)}`), { error: `query parameter "run" must be a run id, got ${quoted}` }],
      ['heartbeat', await post(`/api/ingest?run=${encodeURIComponent(id)}`, ''), { error: `query parameter "run" must be a run id, got ${quoted}` }],
      ['record', await post('/api/ingest', JSON.stringify({ ...JSON.parse(lines[0]!), run: id })), { error: `line 1, field "run": ${notARunId}`, line: 1, path: 'run', message: notARunId }],
      ['/export', await post('/export', JSON.stringify({ run: id })), { error: `field "run" must be a run id, got ${quoted}` }],
    ]
    if (id !== '..') answers.push(['/api/runs/:run', await fetch(`${url}/api/runs/${encodeURIComponent(id)}`), { error: `invalid run id ${quoted}` }])
    for (const [route, response, expected] of answers) expect([route, response.status, await response.json()]).toEqual([route, 400, expected])
  })

  test('unencoded separators and dot segments never reach a handler', async () => {
    const raw = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (response) => {
          let body = ''
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
          response.on('end', () => resolve({ status: response.statusCode!, body }))
        })
        request.on('error', reject).end()
      })
    // Dot segments resolve to another path and "/" splits the segment: no route matches.
    for (const path of ['/api/runs/../outside', '/api/runs/..', '/api/runs/%2e%2e', '/api/runs/a/b', '/api/runs/../../etc/passwd'])
      expect([path, await raw(path)]).toEqual([path, { status: 404, body: '404 Not Found' }])
    // Node's HTTP parser refuses a raw backslash in the request line before the app sees it.
    for (const path of ['/api/runs/a\\b', '/api/runs/..\\outside']) expect([path, await raw(path)]).toEqual([path, { status: 400, body: '' }])
  })

  test('nothing was written beside the log directory, and nothing outside it was read', async () => {
    const runs = (await (await fetch(`${server.url}/api/runs`)).json()) as { runs: { run: string }[] }
    expect(runs.runs.map((r) => r.run)).toEqual([RUN])
    const outsideLogdir = (paths: string[]) => paths.filter((p) => p !== 'logs' && !p.startsWith('logs/'))
    expect(outsideLogdir(listTree(base))).toEqual(outsideLogdir(before))
    expect(readdirSync(logdir)).toEqual([RUN])
  })
})
