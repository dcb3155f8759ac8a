import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { startServer, type RunningServer } from './startServer.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'

const TOKEN = 's3cret'
const dashboard = { html: '<!doctype html><title>dashboard</title>', script: 'console.log("dashboard")' }

function storeWithRun() {
  const store = new RunStore({ now: () => 1_000_000 })
  store.ingest(lines.slice(0, 5).map((line) => JSON.parse(line)))
  return store
}
const stateOf = (store: RunStore) => JSON.stringify({ runs: store.listRuns(), snapshot: store.snapshot(RUN) })
const NDJSON = { 'Content-Type': 'application/x-ndjson' }
const JSON_TYPE = { 'Content-Type': 'application/json' }
/** A valid first record of a run the store does not hold: what a forged request would plant. */
const PLANTED = JSON.stringify({ ...JSON.parse(lines[0]!), run: 'planted-run' })

/** Every route, each with a request its handler answers 200 (the ingest ones change the store). */
const routes: [method: string, path: string, body: string | undefined, headers: Record<string, string>][] = [
  ['POST', '/api/ingest', PLANTED, NDJSON],
  ['POST', `/api/ingest?run=${RUN}`, '', NDJSON],
  ['GET', '/api/runs', undefined, {}],
  ['GET', `/api/runs/${RUN}`, undefined, {}],
  ['GET', `/api/runs/${RUN}/overview`, undefined, {}],
  ['GET', `/stream?run=${RUN}`, undefined, {}],
  ['POST', '/export', JSON.stringify({ run: RUN }), JSON_TYPE],
  ['GET', '/', undefined, {}],
  ['GET', '/assets/dashboard.js', undefined, {}],
]

describe('with a token, every route needs it', () => {
  test.each(routes)('%s %s: 401 without it or with a wrong one, 400 for a malformed header; nothing stored', async (method, path, body, type) => {
    const store = storeWithRun()
    const app = createApp({ store, token: TOKEN, dashboard })
    const before = stateOf(store)
    const send = (headers: Record<string, string>) => app.request(path, { method, body, headers: { ...type, ...headers } })
    const missing = await send({})
    expect([missing.status, missing.headers.get('WWW-Authenticate'), await missing.text()]).toEqual([401, 'Bearer realm=""', 'Unauthorized'])
    const wrong = await send({ Authorization: 'Bearer s3cret-not' })
    expect([wrong.status, wrong.headers.get('WWW-Authenticate'), await wrong.text()]).toEqual([401, 'Bearer error="invalid_token"', 'Unauthorized'])
    for (const malformed of [TOKEN, `Basic ${btoa(`user:${TOKEN}`)}`, 'Bearer ']) expect((await send({ Authorization: malformed })).status).toBe(400)
    expect(stateOf(store)).toBe(before)
  })

  test.each(routes)('%s %s answers 200 with it', async (method, path, body, type) => {
    const app = createApp({ store: storeWithRun(), token: TOKEN, dashboard })
    const response = await app.request(path, { method, body, headers: { ...type, Authorization: `Bearer ${TOKEN}` } })
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

  test('is closed by default: a foreign origin gets 403 and no Access-Control-Allow-Origin, its preflight too', async () => {
    const app = createApp({ store: storeWithRun() })
    const read = await app.request('/api/runs', { headers: { Origin: FOREIGN } })
    expect(read.status).toBe(403)
    expect(read.headers.get('Access-Control-Allow-Origin')).toBeNull()
    const options = await app.request('/api/ingest', preflight)
    expect(options.status).toBe(403)
    expect(options.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(options.headers.get('Access-Control-Allow-Methods')).toBeNull()
  })

  test('opens only to the origins named', async () => {
    const app = createApp({ store: storeWithRun(), corsOrigins: ['https://tool.example'] })
    expect((await app.request('/api/runs', { headers: { Origin: FOREIGN } })).headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect((await app.request('/api/ingest', preflight)).headers.get('Access-Control-Allow-Origin')).toBeNull()
    const allowed = await app.request('/api/runs', { headers: { Origin: 'https://tool.example' } })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('Access-Control-Allow-Origin')).toBe('https://tool.example')
    const allowedPreflight = await app.request('/api/ingest', { ...preflight, headers: { ...preflight.headers, Origin: 'https://tool.example' } })
    expect([allowedPreflight.status, allowedPreflight.headers.get('Access-Control-Allow-Origin')]).toEqual([204, 'https://tool.example'])
  })
})

describe('DNS rebinding: only names the server is reached by get an answer', () => {
  const REBOUND = 'attacker.example:8080'
  const refusal = (host: string, name: string) => ({
    error:
      `Blocked request: this server is not reached by the name "${name}" (Host ${JSON.stringify(host)}), so a page that ` +
      `re-pointed that name at it (DNS rebinding) cannot read it. If you open it by that name on purpose, ` +
      `start it with --allowed-host ${name} (option allowedHosts: ["${name}"]).`,
  })

  test.each(routes)('%s %s with a rebound Host gets 403 naming it and --allowed-host; nothing stored', async (method, path, body, type) => {
    const store = storeWithRun()
    const app = createApp({ store, dashboard })
    const before = stateOf(store)
    const response = await app.request(path, { method, body, headers: { ...type, Host: REBOUND } })
    expect([response.status, await response.json()]).toEqual([403, refusal(REBOUND, 'attacker.example')])
    expect(stateOf(store)).toBe(before)
    // The same request by a loopback name is answered: the Host alone made the difference.
    const loopback = await app.request(path, { method, body, headers: { ...type, Host: '127.0.0.1:8080' } })
    expect(loopback.status).toBe(200)
    await loopback.body?.cancel()
  })

  test('a rebound Host is refused before the token is looked at', async () => {
    const app = createApp({ store: storeWithRun(), token: TOKEN })
    const response = await app.request('/api/runs', { headers: { Host: REBOUND, Authorization: `Bearer ${TOKEN}` } })
    expect(response.status).toBe(403)
  })

  test.each([
    'localhost', 'localhost:8080', 'LOCALHOST:8080', 'localhost.:8080', 'dashboard.localhost:8080',
    '127.0.0.1', '127.0.0.1:8080', '127.8.9.10:1', '[::1]', '[::1]:8080', '::1',
    // An IP address cannot be rebound: a page with that origin was served by whatever listens there.
    '192.168.1.20:8080', '[fd00::1]:8080', '0.0.0.0:8080',
  ])('Host %j is answered', async (host) => {
    const response = await createApp({ store: storeWithRun() }).request('/api/runs', { headers: { Host: host } })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { runs: { run: string }[] }).runs.map((r) => r.run)).toEqual([RUN])
  })

  test.each([
    ['attacker.example', 'attacker.example'],
    ['localhost.attacker.example:8080', 'localhost.attacker.example'],
    ['127.0.0.1.nip.io:8080', '127.0.0.1.nip.io'],
    ['1.2.3.4.5', '1.2.3.4.5'],
    ['localhostx:8080', 'localhostx'],
  ])('Host %j is refused as the name %j', async (host, name) => {
    const response = await createApp({ store: storeWithRun() }).request('/api/runs', { headers: { Host: host } })
    expect([response.status, await response.json()]).toEqual([403, refusal(host, name)])
  })

  test.each(['evil@127.0.0.1', '127.0.0.1/x', 'localhost:8080.attacker.example', '[::1', '[attacker.example]:80', ''])(
    'Host %j, not host[:port], is refused',
    async (host) => {
      const response = await createApp({ store: storeWithRun() }).request('/api/runs', { headers: { Host: host } })
      expect([response.status, await response.json()]).toEqual([403, { error: `Blocked request: the Host header ${JSON.stringify(host)} is not host[:port]` }])
    },
  )

  test('allowedHosts adds names: exact, a domain with its subdomains, Unicode as punycode, ports ignored', async () => {
    const app = createApp({ store: storeWithRun(), allowedHosts: ['lab-box', '.lab.example', '*.corp.example', 'Bücher.example', 'gpu-07:9000'] })
    const status = async (host: string) => (await app.request('/api/runs', { headers: { Host: host } })).status
    const answered = ['lab-box', 'LAB-BOX:8080', 'lab.example', 'gpu.lab.example:8080', 'a.b.corp.example', 'xn--bcher-kva.example', 'gpu-07:8080', 'localhost']
    const refused = ['lab-box.attacker.example', 'evil-lab.example', 'lab.example.attacker.example', 'corp.example.evil', 'bcher.example']
    expect(await Promise.all(answered.map(status))).toEqual(answered.map(() => 200))
    expect(await Promise.all(refused.map(status))).toEqual(refused.map(() => 403))
  })

  test("allowedHosts ['*'] turns the check off", async () => {
    const app = createApp({ store: storeWithRun(), allowedHosts: ['*'] })
    expect((await app.request('/api/runs', { headers: { Host: REBOUND } })).status).toBe(200)
  })

  test('an allowedHosts entry that is no host name is refused at creation', () => {
    for (const entry of ['a/b', 'user@host', '', '.', 'two words'])
      expect(() => createApp({ store: storeWithRun(), allowedHosts: [entry] })).toThrow(`allowedHosts: ${JSON.stringify(entry)} is not a host name`)
  })

  test('the real server sees the Host the browser sent: rebound 403, --allowed-host and loopback 200', async () => {
    const server = await startServer({ port: 0, logdir: mkdtempSync(join(tmpdir(), 'sparselab-host-')), allowedHosts: ['lab-box'] })
    const get = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const request = httpRequest({ host: '127.0.0.1', port: server.port, path: '/api/runs', headers: { Host: host } }, (response) => {
          response.resume()
          resolve(response.statusCode!)
        })
        request.on('error', reject).end()
      })
    try {
      expect(await get(`attacker.example:${server.port}`)).toBe(403)
      expect(await get(`lab-box:${server.port}`)).toBe(200)
      expect(await get(`localhost:${server.port}`)).toBe(200)
      expect(await get(`127.0.0.1:${server.port}`)).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe('CSRF: a page on another origin changes nothing', () => {
  const FOREIGN = 'https://evil.example'
  const post = (app: ReturnType<typeof createApp>, path: string, headers: Record<string, string>) =>
    app.request(path, {
      method: 'POST',
      body: path === '/export' ? JSON.stringify({ run: RUN }) : PLANTED,
      headers: { ...(path === '/export' ? JSON_TYPE : NDJSON), ...headers },
    })

  test.each(['/api/ingest', `/api/ingest?run=${RUN}`, '/export'])('POST %s with a foreign Origin gets 403; the store is untouched', async (path) => {
    const store = storeWithRun()
    const app = createApp({ store })
    const before = stateOf(store)
    const response = await post(app, path, { Host: '127.0.0.1:8080', Origin: FOREIGN })
    expect([response.status, await response.json()]).toEqual([
      403,
      {
        error:
          `Blocked cross-origin request: Origin "${FOREIGN}" is neither this server's own origin (http://127.0.0.1:8080) nor one it was told to allow. ` +
          `To let pages there use the server, start it with --cors-origin ${FOREIGN}.`,
      },
    ])
    expect(stateOf(store)).toBe(before)
    expect(store.listRuns()).toHaveLength(1)
  })

  test.each([
    ['another port of the same host', 'http://127.0.0.1:9999'],
    ['another loopback name', 'http://localhost:8080'],
    ['another scheme', 'https://127.0.0.1:8080'],
    ['a sandboxed frame or a file', 'null'],
  ])('an Origin on %s is foreign too', async (_, origin) => {
    const store = storeWithRun()
    const response = await post(createApp({ store }), '/api/ingest', { Host: '127.0.0.1:8080', Origin: origin })
    expect(response.status).toBe(403)
    expect(store.listRuns()).toHaveLength(1)
  })

  test('the null origin gets no advice to allow it', async () => {
    const response = await post(createApp({ store: storeWithRun() }), '/api/ingest', { Host: '127.0.0.1:8080', Origin: 'null' })
    expect(await response.json()).toEqual({
      error: `Blocked cross-origin request: Origin "null" is neither this server's own origin (http://127.0.0.1:8080) nor one it was told to allow.`,
    })
  })

  test.each([
    ['127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['localhost:8080', 'http://localhost:8080'],
    ['[::1]:8080', 'http://[::1]:8080'],
    ['127.0.0.1:80', 'http://127.0.0.1'],
    ['LocalHost:8080', 'http://localhost:8080'],
  ])('POST from the page the server itself served (Host %s, Origin %s) is stored', async (host, origin) => {
    const store = storeWithRun()
    const response = await post(createApp({ store }), '/api/ingest', { Host: host, Origin: origin, 'Sec-Fetch-Site': 'same-origin' })
    expect([response.status, await response.json()]).toEqual([200, { acks: { 'planted-run': 0 } }])
    expect(store.listRuns()).toHaveLength(2)
  })

  test('the dashboard page posts its export same-origin and gets the report', async () => {
    const response = await post(createApp({ store: storeWithRun() }), '/export', { Host: '127.0.0.1:8080', Origin: 'http://127.0.0.1:8080' })
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Disposition')).toMatch(/^attachment; filename="sparsity_report_/)
  })

  test('an origin in corsOrigins may post, and is told so by CORS', async () => {
    const store = storeWithRun()
    const app = createApp({ store, corsOrigins: ['https://tool.example'] })
    const response = await post(app, '/api/ingest', { Host: '127.0.0.1:8080', Origin: 'https://tool.example', 'Sec-Fetch-Site': 'cross-site' })
    expect([response.status, response.headers.get('Access-Control-Allow-Origin')]).toEqual([200, 'https://tool.example'])
    expect(store.listRuns()).toHaveLength(2)
    expect((await post(app, '/api/ingest', { Origin: FOREIGN })).status).toBe(403)
  })

  test.each(['cross-site', 'same-site'])('a POST from %s without Origin gets 403; nothing stored', async (site) => {
    const store = storeWithRun()
    const app = createApp({ store })
    for (const path of ['/api/ingest', '/export']) {
      const response = await post(app, path, { 'Sec-Fetch-Site': site })
      expect([response.status, await response.json()]).toEqual([403, { error: `Blocked ${site} request: a POST from another site must carry an allowed Origin` }])
    }
    expect(store.listRuns()).toHaveLength(1)
  })

  test('without Origin or fetch metadata (the Python sender, curl), or from the same origin or the address bar, POST is stored', async () => {
    for (const headers of [{}, { 'Sec-Fetch-Site': 'same-origin' }, { 'Sec-Fetch-Site': 'none' }] as Record<string, string>[]) {
      const store = storeWithRun()
      const response = await post(createApp({ store }), '/api/ingest', headers)
      expect([response.status, await response.json()]).toEqual([200, { acks: { 'planted-run': 0 } }])
    }
  })

  test('a GET with a foreign Origin (fetch, EventSource) gets 403; one without it, a link followed from another site, is answered', async () => {
    const app = createApp({ store: storeWithRun(), dashboard })
    for (const path of ['/api/runs', `/stream?run=${RUN}`, '/']) expect((await app.request(path, { headers: { Origin: FOREIGN } })).status).toBe(403)
    const followed = await app.request('/', { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' } })
    expect([followed.status, await followed.text()]).toEqual([200, dashboard.html])
  })
})

describe('Content-Type: only the types no page can send to another origin unasked', () => {
  test.each([
    ['text/plain;charset=UTF-8', '"text/plain;charset=UTF-8"'],
    ['application/x-www-form-urlencoded', '"application/x-www-form-urlencoded"'],
    ['multipart/form-data; boundary=x', '"multipart/form-data; boundary=x"'],
    ['application/json', '"application/json"'],
    [undefined, 'none'],
  ])('POST /api/ingest with Content-Type %j gets 415 naming application/x-ndjson; nothing stored', async (type, shown) => {
    const store = storeWithRun()
    const app = createApp({ store })
    const before = stateOf(store)
    for (const [body, query] of [[PLANTED, ''], ['', `?run=${RUN}`]] as const) {
      // Bytes, unlike a string, go without a type of their own, as a Blob without one does from a page.
      const response = await app.request(`/api/ingest${query}`, { method: 'POST', body: new TextEncoder().encode(body), headers: type ? { 'Content-Type': type } : {} })
      expect([response.status, await response.json()]).toEqual([415, { error: `Content-Type must be application/x-ndjson, got ${shown}` }])
    }
    expect(stateOf(store)).toBe(before)
  })

  test('application/x-ndjson is taken in any case and with parameters', async () => {
    for (const type of ['application/x-ndjson; charset=utf-8', 'Application/X-NDJSON']) {
      const response = await createApp({ store: storeWithRun() }).request('/api/ingest', { method: 'POST', body: PLANTED, headers: { 'Content-Type': type } })
      expect([response.status, await response.json()]).toEqual([200, { acks: { 'planted-run': 0 } }])
    }
  })

  test('POST /export with anything but application/json gets 415', async () => {
    const app = createApp({ store: storeWithRun() })
    const body = JSON.stringify({ run: RUN })
    const plain = await app.request('/export', { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } })
    expect([plain.status, await plain.json()]).toEqual([415, { error: 'Content-Type must be application/json, got "text/plain;charset=UTF-8"' }])
    expect((await app.request('/export', { method: 'POST', body })).status).toBe(415)
    expect((await app.request('/export', { method: 'POST', body, headers: { 'Content-Type': 'application/json; charset=utf-8' } })).status).toBe(200)
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
    const post = (path: string, body: string) => fetch(`${url}${path}`, { method: 'POST', body, headers: path === '/export' ? JSON_TYPE : NDJSON })
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
