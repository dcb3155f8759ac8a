// A page from another origin, in a real browser, can neither read the local server nor plant a run in it,
// and a page on a name re-pointed at 127.0.0.1 (DNS rebinding) is refused; the dashboard and the Python
// sender, which talk to the server from its own origin or from no page at all, work as before.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { chromium, type Browser } from 'playwright-core'
import { RunStore } from '@sparselab-profiler/core'
import { createApp } from '@sparselab-profiler/server-hono'
import { startServer, type RunningServer } from 'sparselab-profiler'
import { PYTHON, REPO, run, tempDir } from '../support/env.js'
import { VALID_LINES as vectors } from '../support/vectors.js'

const RUN_RECORD = JSON.parse(vectors[0]!) as { run: string; layers: unknown[] }
const RUN = RUN_RECORD.run
/** The run record, two samples and two events: a run the dashboard draws. */
const TRAINER_LOG = vectors.slice(0, 5)
const SAMPLES = TRAINER_LOG.filter((line) => JSON.parse(line).type === 'sample').length
const PLANTED = 'planted-run'
/** The name a rebinding attacker owns; the browser resolves it to 127.0.0.1, as a rebound DNS answer would. */
const ATTACKER_NAME = 'attacker.example'

/**
 * A JSON text split at its one `=` into a form field's name and value: a `text/plain` form sends
 * `name=value\r\n`, so the body is that JSON exactly — a valid NDJSON line for `/api/ingest`.
 */
function asFormField(json: string): { name: string; value: string } {
  const at = json.indexOf('=')
  return { name: json.slice(0, at), value: json.slice(at + 1) }
}
const PLANTED_JSON = JSON.stringify({ ...RUN_RECORD, run: PLANTED, name: 'planted=by-form' })
const EXPORT_JSON = JSON.stringify({ run: RUN, title: 'forged=export' })

let server: RunningServer
let logdir: string
let attacker: Server
let attackerPort: number
let browser: Browser

beforeAll(async () => {
  logdir = tempDir('cross-origin')
  server = await startServer({ port: 0, logdir })
  // The attacker's own web server; its page does the attacking from the browser.
  attacker = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' })
    res.end('<!doctype html><title>totally harmless page</title><h1>Hello</h1>')
  })
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r))
  attackerPort = (attacker.address() as { port: number }).port
  // launchChromium's flags, plus a resolver rule standing in for the attacker's DNS.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
      `--host-resolver-rules=MAP ${ATTACKER_NAME} 127.0.0.1`,
    ],
  })
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await new Promise((r) => attacker?.close(r))
})

/** What the server holds and has written: must be the same after every attack. */
const serverState = () => ({
  runs: server.store.listRuns().map((r) => r.run),
  ack: server.store.ack(RUN),
  planted: server.store.has(PLANTED),
  logdir: readdirSync(logdir).sort(),
})

test('the Python sender (application/x-ndjson, no Origin) ingests, and the dashboard shows the run and exports it', async () => {
  const log = join(tempDir('trainer'), 'records.ndjson')
  writeFileSync(log, `${TRAINER_LOG.join('\n')}\n`)
  // sender.py uses the standard library only; loaded by path, it runs without the package's torch imports.
  const script = [
    'import importlib.util, json, sys',
    'spec = importlib.util.spec_from_file_location("sender", sys.argv[1])',
    'sender = importlib.util.module_from_spec(spec); spec.loader.exec_module(sender)',
    's = sender.LogSender(sys.argv[2], sys.argv[3], sys.argv[4], heartbeat_s=3600, on_notice=lambda m: print(m, file=sys.stderr))',
    's.start(); ok = s.close(10.0)',
    'print(json.dumps({"ok": ok, "acked": s.acked}))',
  ].join('\n')
  const senderPy = join(REPO, 'python/src/sparselab_profiler/sender.py')
  const sent = await run(PYTHON, ['-c', script, senderPy, `${server.url}/api/ingest`, RUN, log]).done
  expect([sent.code, sent.stderr]).toEqual([0, ''])
  expect(JSON.parse(sent.stdout)).toEqual({ ok: true, acked: TRAINER_LOG.length - 1 })
  expect(server.store.ack(RUN)).toBe(TRAINER_LOG.length - 1)

  const page = await browser.newPage()
  await page.goto(`${server.url}/`)
  const rows = SAMPLES * RUN_RECORD.layers.length
  await page.waitForFunction((n) => Number(document.querySelector('[data-chart="sparsity"]')?.getAttribute('data-rows')) === n, rows)
  // The export is a same-origin POST with Origin and application/json: it must still go through.
  await page.getByRole('button', { name: 'Export report' }).click()
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Generate HTML' }).click()])
  expect(readFileSync((await download.path())!, 'utf8')).toContain(`<dd>${RUN}</dd>`)
  await page.close()
})

test('the forged requests would be stored if they reached the handlers: the guards, not the payloads, stop them', async () => {
  const app = createApp({ store: new RunStore() })
  for (const [path, json, type] of [['/api/ingest', PLANTED_JSON, 'application/x-ndjson'], ['/export', EXPORT_JSON, 'application/json']]) {
    const { name, value } = asFormField(json!)
    // What a text/plain form sends; the export answers 404 only because this store holds no run.
    const response = await app.request(path!, { method: 'POST', body: `${name}=${value}\r\n`, headers: { 'Content-Type': type! } })
    expect([path, response.status]).toEqual([path, path === '/export' ? 404 : 200])
  }
})

test.each([
  ['another port of the same host (same-site)', () => `http://127.0.0.1:${attackerPort}`],
  ['another site', () => `http://${ATTACKER_NAME}:${attackerPort}`],
])('a page on %s can neither read the server nor plant a run, by fetch, EventSource or form', async (_, attackerOrigin) => {
  const before = serverState()
  expect(before).toEqual({ runs: [RUN], ack: TRAINER_LOG.length - 1, planted: false, logdir: [RUN] })
  const page = await browser.newPage()
  // Every answer the server gave, as the browser's network layer saw it: CORS hides these from the page
  // (and from Playwright's own events), not from the DevTools protocol.
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Network.enable')
  const toServer = new Map<string, string>()
  const statuses = new Map<string, number>()
  // Joined when read: the protocol may deliver a response's ExtraInfo event before its request's event.
  const answers = () => [...toServer].filter(([id]) => statuses.has(id)).map(([id, sent]) => `${sent} ${statuses.get(id)}`)
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    const { origin, pathname } = new URL(request.url)
    // The browser asks for the favicon of the error page it shows after a form post; no attacker asked.
    if (origin === server.url && pathname !== '/favicon.ico') toServer.set(requestId, `${request.method} ${pathname}`)
  })
  cdp.on('Network.responseReceivedExtraInfo', ({ requestId, statusCode }) => statuses.set(requestId, statusCode))
  await page.goto(`${attackerOrigin()}/`)

  const outcome = await page.evaluate(
    async ({ target, run, plantedJson }) => {
      const read = await fetch(`${target}/api/runs`).then(
        async (r) => `read: ${await r.text()}`,
        (e: Error) => `blocked: ${e.name}`,
      )
      const streamed = await new Promise<string>((resolve) => {
        const source = new EventSource(`${target}/stream?run=${run}`)
        source.onmessage = (m) => resolve(`message: ${m.data}`)
        source.onerror = () => {
          source.close()
          resolve('error')
        }
      })
      // "Simple" requests: no preflight, so the browser sends them and only hides the answer.
      const noCors = (path: string, body: BodyInit, headers: Record<string, string>) =>
        fetch(`${target}${path}`, { method: 'POST', mode: 'no-cors', headers, body }).then((r) => r.type)
      const opaque = [
        await noCors('/api/ingest', plantedJson, { 'Content-Type': 'text/plain' }),
        await noCors('/api/ingest', new Blob([plantedJson]), {}), // a Blob without a type: no Content-Type at all
        await noCors(`/api/ingest?run=${run}`, '', { 'Content-Type': 'text/plain' }),
        await noCors('/export', JSON.stringify({ run }), { 'Content-Type': 'text/plain' }),
      ]
      return { read, streamed, opaque }
    },
    { target: server.url, run: RUN, plantedJson: `${PLANTED_JSON}\n` },
  )
  expect(outcome).toEqual({ read: 'blocked: TypeError', streamed: 'error', opaque: ['opaque', 'opaque', 'opaque', 'opaque'] })

  // A text/plain form posted from the attacker's page; the browser leaves it for the server's answer.
  for (const [path, json] of [['/api/ingest', PLANTED_JSON], ['/export', EXPORT_JSON]] as const) {
    await page.goto(`${attackerOrigin()}/`)
    await Promise.all([
      page.waitForURL(`${server.url}${path}`),
      page.evaluate(
        ({ action, field }) => {
          const form = Object.assign(document.createElement('form'), { method: 'POST', enctype: 'text/plain', action })
          form.append(Object.assign(document.createElement('input'), { type: 'hidden', ...field }))
          document.body.append(form)
          form.submit()
        },
        { action: `${server.url}${path}`, field: asFormField(json) },
      ),
    ])
    expect(await page.textContent('body')).toContain('Blocked cross-origin request')
  }

  // Each request reached the server and was refused there, for its Origin, before any handler ran.
  const expected = [
    'GET /api/runs 403',
    'GET /stream 403',
    'POST /api/ingest 403',
    'POST /api/ingest 403',
    'POST /api/ingest 403',
    'POST /api/ingest 403',
    'POST /export 403',
    'POST /export 403',
  ]
  await expect.poll(() => answers().sort(), { timeout: 15_000 }).toEqual(expected)
  expect(serverState()).toEqual(before)
  await page.close()
})

test('a name re-pointed at 127.0.0.1 (DNS rebinding) gets 403 in the browser and from any client', async () => {
  const before = serverState()
  const rebound = `http://${ATTACKER_NAME}:${server.port}`
  const page = await browser.newPage()
  // The browser thinks it is on the attacker's site; the server sees the attacker's name in Host.
  const landing = await page.goto(`${rebound}/`)
  expect(landing!.status()).toBe(403)
  expect(await page.textContent('body')).toContain(`start it with --allowed-host ${ATTACKER_NAME}`)
  // Same-origin to the browser, so CORS would let the page read this; the server does not answer it.
  const read = await page.evaluate(async () => {
    const response = await fetch('/api/runs')
    return { status: response.status, body: await response.text() }
  })
  expect(read.status).toBe(403)
  expect(read.body).not.toContain(RUN)
  const planted = await page.evaluate(
    async (body) => (await fetch('/api/ingest', { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body })).status,
    `${PLANTED_JSON}\n`,
  )
  expect(planted).toBe(403)
  await page.close()

  // Outside a browser the Host is whatever the client writes; the answer is the same.
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: server.port, path: '/api/runs', headers: { Host: `${ATTACKER_NAME}:${server.port}` } }, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode!, body }))
    })
    request.on('error', reject).end()
  })
  expect(answer.status).toBe(403)
  expect(JSON.parse(answer.body).error).toContain(`Host "${ATTACKER_NAME}:${server.port}"`)
  expect(serverState()).toEqual(before)
})
