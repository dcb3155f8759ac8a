import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import { CLI, PYTHON, launchChromium, run, tempDir } from '../support/env.js'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** Opens a report from file:// with every network request blocked and returns what it tried to load. */
async function openOffline(path: string) {
  const context = await browser.newContext({ offline: true })
  const requested: string[] = []
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()))
  const page = await context.newPage()
  page.on('request', (request) => requested.push(request.url()))
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(pathToFileURL(path).href)
  return { page, requested, errors, close: () => context.close() }
}

test('the demo trains SparseLab with RigL, prints the dashboard URL and leaves a report that renders offline', async () => {
  const workdir = tempDir('demo')
  const demo = await run(CLI, ['demo', '--port', '0', '--python', PYTHON, '--steps', '400', '--logdir', 'runs'], { cwd: workdir }).done
  expect(demo.code).toBe(0)
  expect(demo.stdout).toMatch(/SparseLab Profiler dashboard: http:\/\/127\.0\.0\.1:\d+\//)
  const result = JSON.parse(demo.stdout.split('\n').find((line) => line.startsWith('{"run"'))!) as { run: string; run_log: string }
  const reportPath = /Report written: (.+\.html)/.exec(demo.stdout)![1]!
  expect(reportPath).toBe(`${workdir}/runs/${result.run}/report.html`)

  const records = readFileSync(`${workdir}/${result.run_log}`, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
  const runRecord = records[0]
  const samples = records.filter((r) => r.type === 'sample').length
  expect(runRecord.algorithm).toEqual({ name: 'RigL', params: { sparsity: 0.9, drop_fraction: 0.3, update_freq: 50 } })

  const { page, requested, errors, close } = await openOffline(reportPath)
  const charts = page.locator('.chart')
  expect(await charts.count()).toBe(5) // sparsity, events, histograms of fc1, fc2, head
  await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'))
  expect(await page.locator('#chart-sparsity .mark-line path').count()).toBe(3)
  expect(samples).toBeGreaterThanOrEqual(6) // the adaptive sampler may widen the interval on a fast machine
  expect(await page.locator('#chart-sparsity .mark-symbol.role-mark path').count()).toBe(3 * samples)
  expect(await page.locator('#chart-events .mark-rect path').count()).toBeGreaterThan(0)
  // first and last step side by side, 64 bins each
  for (const id of ['histogram-1', 'histogram-2', 'histogram-3']) expect(await page.locator(`#chart-${id} .mark-rect path`).count()).toBe(128)
  expect(requested).toEqual([pathToFileURL(reportPath).href])
  expect(errors).toEqual([])
  await close()
})
