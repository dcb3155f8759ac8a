import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import { formatPercent, type RunRecord, type SampleRecord, type WireRecord } from '@sparselab-profiler/core'
import { startServer } from 'sparselab-profiler'
import { launchChromium, tempDir } from '../support/env.js'
import { trainingRun } from '../bench/syntheticRun.mjs'
import { toNdjson } from '../support/recordedRun.js'

// 400 layers: past the line chart's limit, so the canvas heatmap and the windowed layer table are on show.
// The run is generated (schema v1 records), which is what a many-layer UI test can afford.
const LAYERS = 400
let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

test('a 400-layer run: heatmap cells drawn and named on hover, a click inspects the layer, the table renders a window, live samples add a column', async () => {
  const records = [...trainingRun({ run: 'wide', layerCount: LAYERS, steps: 3100, every: 100, updateEvery: 1000, seed: 3 })] as WireRecord[]
  const samples = records.filter((r) => r.type === 'sample') as SampleRecord[]
  const cut = records.indexOf(samples.at(-1)!)
  const server = await startServer({ port: 0, logdir: tempDir('wide') })
  const ingest = (batch: WireRecord[]) => fetch(`${server.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: toNdjson(batch) })
  expect((await ingest(records.slice(0, cut))).status).toBe(200)
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  await page.goto(`${server.url}/`)
  const heatmap = page.locator('canvas[data-chart="sparsity"]')
  await page.waitForFunction((n) => Number(document.querySelector('canvas[data-chart="sparsity"]')?.getAttribute('data-rows')) === n, (samples.length - 1) * LAYERS)
  expect(await heatmap.getAttribute('aria-label')).toBe(`Per-layer sparsity heatmap: ${LAYERS} layers × ${samples.length - 1} samples, steps 0 to ${samples.at(-2)!.step}`)

  // Every layer's row in the newest column is painted, opaque.
  const box = (await heatmap.boundingBox())!
  const rowHeight = Math.max(1, Math.min(12, Math.floor(1200 / LAYERS)))
  const lastColumn = await heatmap.evaluate((canvas: HTMLCanvasElement, rows) => {
    const context = canvas.getContext('2d')!
    return Array.from({ length: rows.count }, (_, j) => [...context.getImageData(canvas.width - 1, 6 + j * rows.height, 1, 1).data])
  }, { count: LAYERS, height: rowHeight })
  expect(lastColumn.every((rgba) => rgba[3] === 255)).toBe(true)
  expect(new Set(lastColumn.map((rgba) => rgba.join())).size).toBeGreaterThan(1)

  // Hover names layer, step and value; a click inspects that layer.
  const layer = (records[0] as RunRecord).layers[10]!.name
  const value = samples.at(-2)!.layers[10]!.sparsity
  await page.mouse.move(box.x + box.width - 2, box.y + 6 + 10 * rowHeight + rowHeight / 2)
  await expect.poll(() => page.locator('.slp-heatmap-hover').textContent()).toBe(`${layer} · step ${samples.at(-2)!.step} · ${formatPercent(value)}`)
  await page.mouse.click(box.x + box.width - 2, box.y + 6 + 10 * rowHeight + rowHeight / 2)
  expect(await page.locator('select[aria-label="Layer"]').inputValue()).toBe(layer)

  // The text table renders a window of rows, and keeps the inspected one in it.
  await page.getByText('Every layer as text').click()
  expect(await page.locator('table[aria-rowcount]').getAttribute('aria-rowcount')).toBe(String(LAYERS + 1))
  expect(await page.locator('tr[data-layer-row]').count()).toBeLessThan(40)
  await page.locator(`tr[data-layer-row="${layer}"]`).focus()
  for (let i = 0; i < 30; i++) await page.keyboard.press('ArrowDown')
  const fortieth = (records[0] as RunRecord).layers[40]!.name
  expect(await page.locator('select[aria-label="Layer"]').inputValue()).toBe(fortieth)
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-layer-row'))).toBe(fortieth)

  // A live sample adds one column of every layer.
  expect((await ingest(records.slice(cut))).status).toBe(200)
  await page.waitForFunction((n) => Number(document.querySelector('canvas[data-chart="sparsity"]')?.getAttribute('data-rows')) === n, samples.length * LAYERS)
  await page.close()
  await server.close()
})
