import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { LayerRecord, RunRecord, SampleRecord, WireRecord } from '@sparselab-profiler/core'
import { startServer, type RunningServer } from 'sparselab-profiler'
import { REPO, launchChromium, tempDir } from '../support/env.js'
import { serveEmbedHost } from '../support/embedHost.js'
import { recordRealRun, toNdjson } from '../support/recordedRun.js'

let browser: Browser
let recorded: WireRecord[]
beforeAll(async () => {
  browser = await launchChromium()
  recorded = await recordRealRun(300)
})
afterAll(async () => {
  await browser?.close()
})

const SPARSITY = '[data-chart="sparsity"]'
const rowsOf = (page: Page, chart: string) => page.locator(chart).getAttribute('data-rows').then(Number)
const waitForSparsityRows = (page: Page, rows: number) =>
  page.waitForFunction((n) => Number(document.querySelector('[data-chart="sparsity"]')?.getAttribute('data-rows')) === n, rows)
const samplesIn = (records: WireRecord[]) => records.filter((r) => r.type === 'sample') as SampleRecord[]

async function ingest(server: RunningServer, records: WireRecord[]) {
  const response = await fetch(`${server.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: toNdjson(records) })
  expect(response.status).toBe(200)
}

/** A fresh server holding `records`, and a page on its dashboard. */
async function dashboardWith(records: WireRecord[], name: string): Promise<{ server: RunningServer; page: Page }> {
  const server = await startServer({ port: 0, logdir: tempDir(name) })
  await ingest(server, records)
  const page = await browser.newPage()
  await page.goto(`${server.url}/`)
  return { server, page }
}

function firstHalf(records: WireRecord[]): [WireRecord[], WireRecord[]] {
  const cut = records.findIndex((r) => r.type === 'sample' && r.step >= 150)
  return [records.slice(0, cut), records.slice(cut)]
}

test('pause keeps the charts still while data arrives; resume catches up', async () => {
  const [before, after] = firstHalf(recorded)
  const { server, page } = await dashboardWith(before, 'pause')
  const layers = (recorded[0] as RunRecord).layers.length
  await waitForSparsityRows(page, samplesIn(before).length * layers)

  await page.getByRole('button', { name: 'Pause updates' }).click()
  const stepWhenPaused = await page.locator('[data-stat="step"]').textContent()
  await ingest(server, after)
  const waiting = samplesIn(after).length
  await page.getByRole('button', { name: `Resume updates (${waiting} new)` }).waitFor()
  expect(await rowsOf(page, SPARSITY)).toBe(samplesIn(before).length * layers)
  expect(await page.locator('[data-stat="step"]').textContent()).toBe(stepWhenPaused)

  await page.getByRole('button', { name: /Resume updates/ }).click()
  await waitForSparsityRows(page, samplesIn(recorded).length * layers)
  expect(await page.locator('[data-stat="step"]').textContent()).toBe(String(samplesIn(recorded).at(-1)!.step))
  await page.close()
  await server.close()
})

test('a layer record arriving live changes the layer table and is listed as a storage change', async () => {
  const [before] = firstHalf(recorded)
  const { server, page } = await dashboardWith(before, 'storage-change')
  const run = recorded[0] as RunRecord
  await waitForSparsityRows(page, samplesIn(before).length * run.layers.length)
  const head = run.layers.find((l) => l.name === 'head')!
  const step = samplesIn(before).at(-1)!.step
  const change: LayerRecord = {
    type: 'layer', run: run.run, seq: before.length, step, time: run.started + 1, layer: 'head',
    info: { ...head, dtype: 'bfloat16' }, reason: 'dtype changed (float32 → bfloat16)',
  }
  await ingest(server, [change])
  await page.getByText('Storage changes (1)').click()
  expect(await page.locator('.slp-changes tbody td').allTextContents()).toEqual([
    step.toLocaleString('en-US'), 'head', 'dtype changed (float32 → bfloat16)', 'dense', 'inferred_zeros', 'bfloat16',
  ])
  await page.getByText('Every layer as text').click()
  expect((await page.locator('tr[data-layer-row="head"] td').allTextContents()).slice(-3)).toEqual(['dense', 'inferred_zeros', 'bfloat16'])
  await page.close()
  await server.close()
})

test('a dropped connection resumes from Last-Event-ID with no gap and no duplicate', async () => {
  const logdir = tempDir('reconnect')
  let server = await startServer({ port: 0, logdir })
  const { port, store } = server
  const [before, after] = firstHalf(recorded)
  await ingest(server, before)
  const page = await browser.newPage()
  await page.goto(`${server.url}/`)
  const layers = (recorded[0] as RunRecord).layers.length
  await waitForSparsityRows(page, samplesIn(before).length * layers)

  await server.close() // drops the page's stream
  await page.waitForSelector('[data-status="reconnecting"]')
  store.ingest(after) // arrives while the page is disconnected
  server = await startServer({ port, logdir, store })
  await waitForSparsityRows(page, samplesIn(recorded).length * layers)
  await page.waitForSelector('[data-status="live"]')
  await new Promise((r) => setTimeout(r, 500)) // a duplicate would show up as extra rows
  expect(await rowsOf(page, SPARSITY)).toBe(samplesIn(recorded).length * layers)
  await page.close()
  await server.close()
})

test('layer inspector: text values, step slider, comparison with the first step', async () => {
  const { server, page } = await dashboardWith(recorded, 'inspector')
  await page.locator('select[aria-label="Layer"]').selectOption('fc2')
  const samples = samplesIn(recorded)
  const last = samples.at(-1)!.layers.find((l) => l.name === 'fc2')!
  await page.locator('[data-stat="layer-nnz"]').filter({ hasText: last.nnz.toLocaleString('en-US') }).waitFor()
  expect(await page.locator('[data-stat="layer-nnz"]').textContent()).toBe(`${last.nnz.toLocaleString('en-US')} / 65,536`)

  await page.locator('input[aria-label="Histogram step"]').fill('0')
  await page.getByText('Step 0', { exact: false }).first().waitFor()
  await page.getByLabel('compare with the first step').check()
  await page.locator('input[aria-label="Histogram step"]').fill(String(samples.length - 1))
  await page.waitForFunction(() => Number(document.querySelector('[data-chart="histogram"]')?.getAttribute('data-rows')) === 128)
  const legend = await page.locator('[data-chart="histogram"] .role-legend-label text').allTextContents()
  expect(legend).toEqual([`step ${samples[0]!.step}`, `step ${samples.at(-1)!.step}`])

  // Every layer as text; the arrow keys walk the inspected layer through them.
  await page.getByText('Every layer as text').click()
  const headRow = page.locator('tr[data-layer-row="head"]')
  expect(await headRow.locator('td').allTextContents()).toEqual(['head', '0.00%', '2,560 / 2,560', 'same as dense', 'dense', 'inferred_zeros', 'float32'])
  await page.locator('tr[data-layer-row="fc2"]').focus()
  await page.keyboard.press('ArrowDown')
  expect(await page.locator('select[aria-label="Layer"]').inputValue()).toBe('head')
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-layer-row'))).toBe('head')
  await page.close()
  await server.close()
})

test('the export dialog writes one file with the chosen sections and the default name', async () => {
  const { server, page } = await dashboardWith(recorded, 'export')
  await page.getByRole('button', { name: 'Export report' }).click()
  const dialog = page.getByRole('dialog', { name: 'Export configuration' })
  await dialog.getByLabel('Report title').fill('Digits RigL nightly')
  await dialog.getByLabel('Raw metric data (CSV)').uncheck()
  await dialog.getByLabel('Profiler latency stats').check()
  const lastStep = samplesIn(recorded).at(-1)!.step
  const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Generate HTML' }).click()])
  expect(download.suggestedFilename()).toMatch(new RegExp(`^sparsity_report_\\d{4}-\\d{2}-\\d{2}_${lastStep}\\.html$`))
  const html = readFileSync((await download.path())!, 'utf8')
  expect(html).toContain('<title>Digits RigL nightly</title>')
  expect(html).toContain('<h2>Profiler latency</h2>')
  expect(html).not.toContain('id="csv-link"')
  await dialog.waitFor({ state: 'detached' })
  await page.close()
  await server.close()
})

test('names carrying HTML or script render as plain text', async () => {
  const hostile = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=2</script>'
  const renamed = JSON.parse(JSON.stringify(recorded).replaceAll('"fc1"', JSON.stringify(hostile)).replaceAll('"digits-mlp-rigl"', JSON.stringify(`run ${hostile}`))) as WireRecord[]
  const server = await startServer({ port: 0, logdir: tempDir('xss') })
  await ingest(server, renamed)
  const page = await browser.newPage()
  let dialogs = 0
  page.on('dialog', (d) => {
    dialogs++
    void d.dismiss()
  })
  await page.goto(`${server.url}/`)
  await page.waitForFunction(() => Number(document.querySelector('[data-chart="sparsity"]')?.getAttribute('data-rows')) > 0)
  expect(await page.locator('select[aria-label="Layer"] option').first().textContent()).toBe(hostile)
  expect(await page.locator('header select option').first().textContent()).toContain(`run ${hostile}`)
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  expect(await page.locator('img[src="x"]').count()).toBe(0)
  expect(dialogs).toBe(0)
  await page.close()
  await server.close()
})

test('the dashboard embedded in another page keeps to its element and defines no globals', async () => {
  const host = await serveEmbedHost(readFileSync(join(REPO, 'packages/dashboard-preact/examples/embed/index.html'), 'utf8'))
  const hostOrigin = host.origin
  const server = await startServer({ port: 0, logdir: tempDir('embed'), corsOrigins: [hostOrigin] })
  await ingest(server, recorded)

  const page = await browser.newPage()
  await page.addInitScript(() => {
    ;(window as unknown as { __keysBefore: string[] }).__keysBefore = Object.keys(window)
  })
  await page.goto(`${hostOrigin}/?server=${encodeURIComponent(server.url)}`)
  await page.waitForFunction(() => Number(document.querySelector('#sparsity [data-chart="sparsity"]')?.getAttribute('data-rows')) > 0)
  expect(await page.locator('#sparsity .slp-dashboard [data-chart="sparsity"] .mark-line path').count()).toBe(3)
  expect(await page.locator('h1').first().evaluate((el) => getComputedStyle(el).color)).toBe('rgb(128, 0, 0)')
  expect(await page.locator('nav').evaluate((el) => getComputedStyle(el).fontFamily)).toContain('Georgia')
  const added = await page.evaluate(() => {
    const before = new Set((window as unknown as { __keysBefore: string[] }).__keysBefore)
    return Object.keys(window).filter((k) => !before.has(k) && k !== '__keysBefore')
  })
  expect(added).toEqual(['unmountSparsity']) // the host's own variable, nothing of ours
  await page.close()
  await server.close()
  await host.close()
})
