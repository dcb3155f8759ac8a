// The dashboard at scale in real chromium: a run of 1000 layers over 100,000 training steps (a sample
// every 200 steps, 64-bin histograms, RigL drop/grow events with per-row counts every 10,000 steps) is
// ingested into the server, then the page is opened and the run keeps streaming.
//   first paint: navigation → the heatmap has drawn every sample the server sends (its data-rows)
//   per live update: main-thread time chromium spent (CDP Performance.getMetrics TaskDuration) between
//   one update being posted and the page having drawn it and gone idle
// The run is generated (test/bench/syntheticRun.mjs), not trained: training 1000 layers for 100k steps
// does not fit on this machine; the records follow schema v1 exactly.
//   node test/bench/latencyAtScale.mjs [--layers 1000] [--steps 100000] [--every 200] [--updates 40]
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { startServer } from 'sparselab-profiler'
import { checkSchema, toBatches, trainingRun } from './syntheticRun.mjs'

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '1000' },
    steps: { type: 'string', default: '100000' },
    every: { type: 'string', default: '200' },
    updates: { type: 'string', default: '40' },
  },
})
const layerCount = Number(values.layers)
const historySteps = Number(values.steps)
const every = Number(values.every)
const updates = Number(values.updates)

const server = await startServer({ port: 0, logdir: mkdtempSync(join(tmpdir(), 'slp-scale-')) })
const post = async (lines) => {
  for (const batch of toBatches(lines, 50)) {
    const response = await fetch(`${server.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: batch.body })
    if (!response.ok) throw new Error(`ingest answered ${response.status}: ${await response.text()}`)
  }
}

// One generator for history and live part alike, so the live samples continue the same run.
const records = trainingRun({ run: 'scale-1000-layers', layerCount, steps: historySteps + updates * every + 1, every, updateEvery: 10_000, seed: 7 })
let held = records.next().value
const peek = () => held
const next = () => {
  const record = held
  held = records.next().value
  return record
}
checkSchema([peek()])
let ingested = 0
let bytes = 0
let lastHistoryStep = 0
const started = Date.now()
let pending = []
const flush = async () => {
  ingested += pending.length
  bytes += pending.reduce((n, line) => n + line.length + 1, 0)
  await post(pending)
  pending = []
}
while (peek() && !(peek().type === 'sample' && peek().step >= historySteps)) {
  const record = next()
  if (record.type === 'sample') {
    if (lastHistoryStep === 0) checkSchema([record])
    lastHistoryStep = record.step
  }
  pending.push(JSON.stringify(record))
  if (pending.length >= 200) await flush()
}
await flush()
const snapshotSize = (await (await fetch(`${server.url}/api/runs/scale-1000-layers/overview`)).text()).length
console.log(
  `history: ${layerCount} layers, steps 0-${lastHistoryStep} every ${every}: ${ingested} records, ${(bytes / 2 ** 20).toFixed(0)} MiB of NDJSON ingested in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
    `overview the page loads: ${(snapshotSize / 2 ** 20).toFixed(2)} MiB`,
)

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
const cdp = await page.context().newCDPSession(page)
await cdp.send('Performance.enable')
const taskSeconds = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value
await page.addInitScript(() => {
  // When the heatmap's drawn cell count changes, by the page's clock (ms since navigation started).
  window.__drawn = []
  new MutationObserver(() => {
    const canvas = document.querySelector('canvas[data-chart="sparsity"]')
    if (canvas) window.__drawn.push([Number(canvas.getAttribute('data-rows')), performance.now()])
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-rows'] })
})
await page.goto(`${server.url}/`)
const firstPaint = await page.waitForFunction(() => window.__drawn.find(([rows]) => rows > 0)?.[1], null, { timeout: 60_000 }).then((h) => h.jsonValue())
console.log(`first paint (navigation → heatmap drawn with the whole history): ${firstPaint.toFixed(0)} ms`)
await page.waitForTimeout(1500) // the inspector's layer history and anything else in flight settle

const rows = () => page.evaluate(() => Number(document.querySelector('canvas[data-chart="sparsity"]').getAttribute('data-rows')))
const perUpdate = []
const latency = []
for (let u = 0; u < updates; u++) {
  const lines = [] // the events before the next sample, and the sample
  for (let record = next(); record; record = next()) {
    lines.push(JSON.stringify(record))
    if (record.type === 'sample') break
  }
  const before = await rows()
  const tasksBefore = await taskSeconds()
  const sent = Date.now()
  await post(lines)
  await page.waitForFunction((n) => Number(document.querySelector('canvas[data-chart="sparsity"]').getAttribute('data-rows')) !== n, before)
  latency.push(Date.now() - sent)
  await page.waitForTimeout(250) // idle: whatever the update set off has run
  perUpdate.push((await taskSeconds()) - tasksBefore)
}
const pct = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]
const ms = (s) => `${(s * 1000).toFixed(0)} ms`
console.log(
  `live updates (each a sample of ${layerCount} layers): ${perUpdate.length}; main-thread time per update P50 ${ms(pct(perUpdate, 50))}, ` +
    `P95 ${ms(pct(perUpdate, 95))}, max ${ms(Math.max(...perUpdate))}; posted → drawn P50 ${pct(latency, 50)} ms, max ${Math.max(...latency)} ms`,
)
const memory = process.memoryUsage()
console.log(`server process after it all: RSS ${(memory.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB`)
await browser.close()
await server.close()
