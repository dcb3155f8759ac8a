// The dashboard's compare view at scale in real chromium: two generated RigL runs of 1000 layers (a sample every
// 200 steps, 64-bin histograms, drop/grow events with per-row counts every 10,000 steps; B trained 20% longer) are
// ingested into the server, then the page is opened at `/?run=A&compare=B`.
//   first paint: navigation → the summary table, the model-sparsity overlay with every point of both runs and
//   the per-layer difference heatmap (1000 layers) drawn, by the page's clock (ms since navigation started)
//   inspector: navigation → both runs' histograms of the inspected layer drawn on shared bins
// The runs are generated (test/bench/syntheticRun.mjs), not trained: training 1000 layers does not fit on this
// machine; the records follow schema v1 exactly. The target for first paint is ≤ 2 s.
//   node test/bench/compareAtScale.mjs [--layers 1000] [--steps 60000] [--every 200] [--runs 3]
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
    steps: { type: 'string', default: '60000' },
    every: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
  },
})
const layerCount = Number(values.layers)
const steps = Number(values.steps)
const every = Number(values.every)
const repeats = Number(values.runs)

const server = await startServer({ port: 0, logdir: mkdtempSync(join(tmpdir(), 'slp-compare-scale-')) })
const ingest = async (options) => {
  const started = Date.now()
  let pending = []
  let records = 0
  let bytes = 0
  const flush = async () => {
    for (const batch of toBatches(pending, 50)) {
      const response = await fetch(`${server.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: batch.body })
      if (!response.ok) throw new Error(`ingest answered ${response.status}: ${await response.text()}`)
    }
    pending = []
  }
  let checked = 0
  for (const record of trainingRun(options)) {
    if (checked < 2 && (record.type === 'run' || record.type === 'sample')) checkSchema([record]), checked++
    const line = JSON.stringify(record)
    pending.push(line)
    records++
    bytes += line.length + 1
    if (pending.length >= 200) await flush()
  }
  await flush()
  const overview = (await (await fetch(`${server.url}/api/runs/${options.run}/overview`)).text()).length
  console.log(
    `${options.run}: ${layerCount} layers, steps 0-${options.steps - 1} every ${every}: ${records} records, ${(bytes / 2 ** 20).toFixed(0)} MiB of NDJSON ingested in ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s; overview the page loads: ${(overview / 2 ** 20).toFixed(2)} MiB`,
  )
}
// B: another seed (other nnz per layer, so other sparsities) and 20% more steps
await ingest({ run: 'compare-a', layerCount, steps, every, updateEvery: 10_000, seed: 11 })
await ingest({ run: 'compare-b', layerCount, steps: Math.round(steps * 1.2), every, updateEvery: 10_000, seed: 12 })

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
const firstPaints = []
const inspectors = []
for (let repeat = 0; repeat < repeats; repeat++) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  await page.addInitScript(() => {
    // When each part of the compare view was drawn, by the page's clock.
    window.__drawn = {}
    const charts = {
      overlay: (el) => el.matches('[data-chart="compare-sparsity"]') && Number(el.getAttribute('data-rows')) >= window.__overlayRows,
      heatmap: (el) => el.matches('canvas[data-chart^="compare-sparsity-difference"]') && Number(el.getAttribute('data-rows')) > 0,
      histogram: (el) => el.matches('[data-chart="compare-histogram"]') && Number(el.getAttribute('data-rows')) > 0,
    }
    new MutationObserver((mutations) => {
      for (const { target } of mutations)
        for (const [part, done] of Object.entries(charts)) if (!window.__drawn[part] && target instanceof Element && done(target)) window.__drawn[part] = performance.now()
      if (!window.__drawn.table && document.querySelector('.slp-compare-table')) window.__drawn.table = performance.now()
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-rows'] })
  })
  // every matrix point of both runs: the overlay's rows once both have loaded
  const rows = async (run) => (await (await fetch(`${server.url}/api/runs/${run}/overview`)).json()).steps.length
  const overlayRows = (await rows('compare-a')) + (await rows('compare-b'))
  await page.addInitScript((n) => (window.__overlayRows = n), overlayRows)
  await page.goto(`${server.url}/?run=compare-a&compare=compare-b`)
  const drawn = await page
    .waitForFunction(() => ['table', 'overlay', 'heatmap', 'histogram'].every((part) => window.__drawn[part]) && window.__drawn, null, { timeout: 60_000 })
    .then((h) => h.jsonValue())
  const firstPaint = Math.max(drawn.table, drawn.overlay, drawn.heatmap)
  firstPaints.push(firstPaint)
  inspectors.push(drawn.histogram)
  console.log(
    `page ${repeat + 1}: summary table ${drawn.table.toFixed(0)} ms, model-sparsity overlay (${overlayRows} points) ${drawn.overlay.toFixed(0)} ms, ` +
      `difference heatmap ${drawn.heatmap.toFixed(0)} ms → first paint ${firstPaint.toFixed(0)} ms; inspector histograms ${drawn.histogram.toFixed(0)} ms`,
  )
  await page.close()
}
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]
console.log(
  `first paint of the compare view (navigation → table, overlay and heatmap of two ${layerCount}-layer runs drawn): median ${median(firstPaints).toFixed(0)} ms of ${repeats} ` +
    `(target ≤ 2,000 ms); inspector histograms: median ${median(inspectors).toFixed(0)} ms`,
)
await browser.close()
await server.close()
