import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import type { RunRecord } from '@sparselab-profiler/core'
import { CLI, launchChromium, run, tempDir } from '../support/env.js'
import { chartFindings, checkAll, overflowFindings } from '../support/pageChecks.js'
import { recordRealRun, toNdjson } from '../support/recordedRun.js'

// The compare report of two real SparseLab runs (RigL at 90% updating every 50 steps, and at 80% every 25 for
// longer), written by `sparselab-profiler export A B`, opened from file:// with every network request blocked,
// at two widths in both colour schemes.

let browser: Browser
let dir: string
let reportPath: string
let exported: { code: number; stdout: string; stderr: string }
const runIds: string[] = []

beforeAll(async () => {
  const recorded = await Promise.all([recordRealRun(300), recordRealRun(400, ['--sparsity', '0.8', '--update-freq', '25', '--seed', '1'])])
  dir = tempDir('compare-report')
  for (const [i, records] of recorded.entries()) {
    runIds.push((records[0] as RunRecord).run)
    mkdirSync(join(dir, `run-${i}`))
    writeFileSync(join(dir, `run-${i}`, 'records.ndjson'), toNdjson(records))
  }
  reportPath = join(dir, 'compare.html')
  ;[exported, browser] = await Promise.all([run(CLI, ['export', join(dir, 'run-0'), join(dir, 'run-1'), '-o', reportPath]).done, launchChromium()])
})
afterAll(async () => {
  await browser?.close()
})

/** The report in a fresh context of the given size and scheme, offline, every request but the file's aborted. */
async function openOffline(width: number, scheme: 'light' | 'dark') {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: scheme, offline: true })
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()))
  const page = await context.newPage()
  const requested: string[] = []
  const problems: string[] = []
  page.on('request', (request) => requested.push(request.url()))
  page.on('console', (message) => {
    if (message.type() === 'warning' || message.type() === 'error') problems.push(`console.${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  await page.goto(pathToFileURL(reportPath).href)
  await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'), undefined, { timeout: 90_000 })
  // width: "container" charts resize on the next frames; let them settle before measuring
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  return { page, requested, problems, close: () => context.close() }
}

test('export A B writes the compare report: both runs, the overlays and differences, and per layer histograms on shared bins', async () => {
  expect(exported.code).toBe(0)
  expect(exported.stdout).toMatch(new RegExp(`^Compare report written: ${reportPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ KiB\\)\\n$`))
  const html = readFileSync(reportPath, 'utf8')
  const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as {
    charts: { id: string; spec: { datasets: Record<string, { series?: string; bin_start?: number; bin_end?: number }[]> } }[]
  }
  // fc1 and fc2 are rewired; the dense head has no updates
  const perLayer = (n: number, events: boolean) => [`sparsity-${n}`, `histogram-first-${n}`, `histogram-last-${n}`, ...(events ? [`events-${n}`] : [])]
  expect(data.charts.map((c) => c.id)).toEqual(['sparsity', 'sparsity-difference-B', 'churn', 'churn-difference-B', ...perLayer(1, true), ...perLayer(2, true), ...perLayer(3, false)])
  // each histogram chart: both runs on the same 64 bins
  for (const chart of data.charts.filter((c) => c.id.startsWith('histogram-'))) {
    const rows = Object.values(chart.spec.datasets)[0]!
    const edges = (prefix: string) => rows.filter((r) => r.series!.startsWith(prefix)).map((r) => [r.bin_start, r.bin_end])
    expect(edges('A ·'), chart.id).toHaveLength(64)
    expect(edges('B ·'), chart.id).toEqual(edges('A ·'))
  }
  // the summary names both runs, A first, and marks the parameters that differ
  expect(html).toContain(`(${runIds[0]})</td><td>`)
  expect(html).toContain('<tr class="differs"><th scope="row">sparsity</th><td>0.9</td><td>0.8</td></tr>')
  expect(html).toContain('<tr class="differs"><th scope="row">update_freq</th><td>50</td><td>25</td></tr>')

  const tooMany = await run(CLI, ['export', ...Array.from({ length: 5 }, (_, i) => join(dir, `run-${i % 2}`))]).done
  expect([tooMany.code, tooMany.stderr.split('\n')[0]]).toEqual([1, 'sparselab-profiler: export takes one run directory or records.ndjson, or 2 to 4 to compare, got 5'])
})

test.for([
  [800, 'light'],
  [800, 'dark'],
  [1280, 'light'],
  [1280, 'dark'],
] as const)('the compare report at %i px, %s: renders offline, every chart with marks, no console problem, nothing past the viewport', async ([width, scheme], { expect }) => {
  const { page, requested, problems, close } = await openOffline(width, scheme)
  try {
    // 4 run-level charts and 11 small multiples
    expect(await page.locator('.chart svg').count()).toBe(15)
    // fc1's histogram at the last step both runs reached: 64 shared bins per run
    expect(await page.locator('#chart-histogram-last-1 .mark-rect path').count()).toBe(128)
    const checks = {
      overflow: await page.evaluate(overflowFindings, 'body'),
      charts: await page.evaluate(chartFindings, { chartSelector: '.chart', scheme }),
      problems,
    }
    checkAll(expect, checks, `compare report (${width.toLocaleString('en-US')} px, ${scheme})`)
    expect(requested).toEqual([pathToFileURL(reportPath).href])
  } finally {
    await close()
  }
})
