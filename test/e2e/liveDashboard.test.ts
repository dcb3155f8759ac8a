import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import { startServer, type RunningServer } from 'sparselab-profiler'
import { PYTHON, launchChromium, run, tempDir } from '../support/env.js'

let server: RunningServer
let browser: Browser

beforeAll(async () => {
  server = await startServer({ port: 0, logdir: tempDir('live-empty') })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

const SPARSITY_CHART = '[data-chart="sparsity"]'

test('the dashboard shows a real SparseLab run live and the server ends with every seq exactly once', async () => {
  const logdir = tempDir('live')
  const training = run(PYTHON, [
    '-m', 'sparselab_profiler.demo', '--server', server.url, '--logdir', logdir, '--steps', '1500', '--every', '10', '--step-delay', '0.01',
  ])
  const page = await browser.newPage()
  await page.goto(`${server.url}/`)

  // The page picks up the newest run by itself and draws one point per layer per sample.
  const points = () => page.locator(`${SPARSITY_CHART} .mark-symbol.role-mark path`).count()
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-rows')) > 0, SPARSITY_CHART, { timeout: 60_000 })
  const firstPoints = await points()
  const firstStep = Number(await page.locator('[data-stat="step"]').textContent())
  expect(firstPoints).toBeGreaterThan(0)
  await page.waitForFunction(
    ({ sel, before }) => document.querySelectorAll(`${sel} .mark-symbol.role-mark path`).length >= before + 30,
    { sel: SPARSITY_CHART, before: firstPoints },
    { timeout: 60_000 },
  )
  expect(Number(await page.locator('[data-stat="step"]').textContent())).toBeGreaterThan(firstStep)
  expect(await page.locator('[data-status]').textContent()).toBe('live')

  // The layer inspector shows the picked layer's histogram bars and its RigL drop/grow bars.
  await page.locator('select[aria-label="Layer"]').selectOption('fc2')
  // Vega labels each chart's container with the spec's description.
  await page.waitForSelector('[data-chart="histogram"][aria-label="Share of the finite non-zero weights of fc2 per bin"]')
  expect(await page.locator('[data-chart="histogram"] .mark-rect path').count()).toBe(64)
  await page.waitForSelector('[data-chart="layer-events"][aria-label="Topology updates of fc2: connections rewired and net change per step"] .mark-rect path', { state: 'attached' })

  const finished = await training.done
  expect(finished.stderr).not.toMatch(/Traceback/)
  expect(finished.code).toBe(0)
  const { run: runId, run_log } = JSON.parse(finished.stdout.trim().split('\n').at(-1)!) as { run: string; run_log: string }

  await page.waitForSelector('[data-status]:text("run finished")', { timeout: 15_000 })
  const logged = readFileSync(run_log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { seq: number; type: string })
  const snapshot = server.store.snapshot(runId)!
  const stored = [snapshot.run, ...snapshot.samples, ...snapshot.events, ...snapshot.sampler, ...(snapshot.end ? [snapshot.end] : [])]
    .map((r) => r.seq)
    .sort((a, b) => a - b)
  expect(stored).toEqual(logged.map((r) => r.seq))
  expect(stored).toEqual([...Array(logged.length).keys()])
  expect(Number(await page.locator(SPARSITY_CHART).getAttribute('data-rows'))).toBe(snapshot.samples.length * 3)

  // Export from the page: one HTML attachment with the default name.
  await page.getByRole('button', { name: 'Export report' }).click()
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Generate HTML' }).click()])
  expect(download.suggestedFilename()).toMatch(new RegExp(`^sparsity_report_\\d{4}-\\d{2}-\\d{2}_${snapshot.end!.step}\\.html$`))
  const html = readFileSync((await download.path())!, 'utf8')
  expect(html).toContain(`<dd>${runId}</dd>`)
  await page.close()
})
