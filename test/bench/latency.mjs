// Live latency of the dashboard in real chromium: from the moment the Python callback takes a sample
// (its record's `time`) to the moment the sparsity chart shows it, over every live update of a real
// SparseLab run.   node test/bench/latency.mjs [--steps 2500] [--every 10]
import { readFileSync, mkdtempSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { startServer } from 'sparselab-profiler'

const { values } = parseArgs({ options: { steps: { type: 'string', default: '2500' }, every: { type: 'string', default: '10' } } })
const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const server = await startServer({ port: 0, logdir: mkdtempSync(join(tmpdir(), 'slp-latency-')) })
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
const page = await browser.newPage()
await page.goto(`${server.url}/`)
await page.evaluate(() => {
  // Record when the chart's shown row count changes, by the page's wall clock (the same clock as Python's).
  window.__shown = []
  new MutationObserver(() => {
    const el = document.querySelector('[data-chart="sparsity"]')
    if (el) window.__shown.push([Number(el.getAttribute('data-rows')), Date.now()])
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-rows'] })
})

const training = spawn(join(repo, '.venv/bin/python'), [
  '-m', 'sparselab_profiler.demo', '--server', server.url, '--logdir', mkdtempSync(join(tmpdir(), 'slp-latency-run-')),
  '--steps', values.steps, '--every', values.every, '--step-delay', '0.01', '--overhead-budget', 'none',
], { stdio: ['ignore', 'pipe', 'inherit'] })
let out = ''
training.stdout.on('data', (chunk) => (out += chunk))
await new Promise((done) => training.on('close', done))
await page.waitForTimeout(1500)

const { run_log } = JSON.parse(out.trim().split('\n').at(-1))
const records = readFileSync(run_log, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
const layers = records[0].layers.length
const samples = records.filter((r) => r.type === 'sample')
const shown = await page.evaluate(() => window.__shown)
// Live updates only: samples taken after the page had loaded the run (it finds new runs by polling).
const liveFrom = shown.find(([rows]) => rows > 0)[1]
const latencies = []
for (const [i, sample] of samples.entries()) {
  if (sample.time * 1000 <= liveFrom) continue
  const seen = shown.find(([rows]) => rows >= (i + 1) * layers)
  if (seen) latencies.push(seen[1] - sample.time * 1000)
}
latencies.sort((a, b) => a - b)
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]
console.log(`live updates measured: ${latencies.length} (of ${samples.length} samples; the rest came before the page found the run)`)
console.log(`sample taken -> chart shows it: P50 ${pct(50).toFixed(0)} ms, P95 ${pct(95).toFixed(0)} ms, max ${latencies.at(-1).toFixed(0)} ms`)
await browser.close()
await server.close()
