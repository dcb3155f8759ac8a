import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { RunRecord, SampleRecord, WireRecord } from '@sparselab-profiler/core'
import { startServer, type RunningServer } from 'sparselab-profiler'
import { serveEmbedHost } from '../support/embedHost.js'
import { launchChromium, tempDir } from '../support/env.js'
import { recordRealRun, toNdjson } from '../support/recordedRun.js'

// The dashboard's views in real chromium, on one real recorded run of the SparseLab demo: zoom by brushing
// and its URL state, the crosshair tooltip, chart downloads, the empty state, the status pill, style
// isolation when embedded, the loss chart and the exploration views. Every expected value comes from the
// recorded run log.

let browser: Browser
let recorded: WireRecord[]
let run: RunRecord
let samples: SampleRecord[]
let layerNames: string[]
/** The run's step range: first and last sampled step. */
let lo: number
let hi: number
/** One server holding the whole run, shared by the tests that only read it. */
let shared: RunningServer

beforeAll(async () => {
  ;[browser, recorded] = await Promise.all([launchChromium(), recordRealRun(300)])
  run = recorded[0] as RunRecord
  samples = recorded.filter((r) => r.type === 'sample') as SampleRecord[]
  layerNames = run.layers.map((l) => l.name)
  lo = samples[0]!.step
  hi = samples.at(-1)!.step
  shared = await startServer({ port: 0, logdir: tempDir('views') })
  await ingest(shared, recorded)
})
afterAll(async () => {
  await browser?.close()
  await shared?.close()
})

/** Every chart drawn over the shared step axis: the run's and the layer inspector's. */
const STEP_CHARTS = ['scalars', 'sparsity', 'churn', 'events', 'itop', 'mask-distance', 'bands', 'layer-churn', 'layer-events', 'layer-itop', 'layer-regrowth'] as const
type StepChart = (typeof STEP_CHARTS)[number]
interface StepAxis {
  /** Tick labels, as steps. */
  labels: number[]
  /** Width of the axis line: the plot area's (px). */
  plot: number
  /** Width of the chart's element: its column (px). */
  column: number
}
const count = (n: number) => n.toLocaleString('en-US')
const percent = (fraction: number) => `${(fraction * 100).toFixed(2)}%`

async function ingest(server: RunningServer, records: WireRecord[]) {
  const response = await fetch(`${server.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: toNdjson(records) })
  expect(response.status).toBe(200)
}

/** A page in a context of its own (closed with it), 1280 × 900. */
async function newPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ page: Page; context: BrowserContext }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
  return { page: await context.newPage(), context }
}

/** Waits until the sparsity chart shows `sampleCount` samples of every layer and every step-axis chart is drawn with rows. */
async function dashboardShown(page: Page, sampleCount = samples.length, scope = '') {
  await page.waitForFunction(
    ({ rows, charts, scope }) =>
      Number(document.querySelector(`${scope} [data-chart="sparsity"]`)?.getAttribute('data-rows')) === rows &&
      charts.every((name) => {
        const el = document.querySelector(`${scope} [data-chart="${name}"]`)
        return !!el?.querySelector('svg') && Number(el.getAttribute('data-rows')) > 0
      }),
    { rows: sampleCount * layerNames.length, charts: [...STEP_CHARTS], scope },
  )
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

/** Per step-axis chart: its x axis's tick labels as numbers, the axis's drawn width and the chart's width (px). */
function stepAxes(page: Page): Promise<Record<StepChart, StepAxis>> {
  return page.evaluate((charts) => {
    const axes: Record<string, { labels: number[]; plot: number; column: number }> = {}
    for (const name of charts) {
      const chart = document.querySelector(`[data-chart="${name}"]`)!
      const axis = [...chart.querySelectorAll('g.role-axis')].find((g) => g.getAttribute('aria-label')?.startsWith('X-axis'))
      axes[name] = {
        labels: [...(axis?.querySelectorAll('.role-axis-label text') ?? [])].map((t) => Number(t.textContent!.replaceAll(',', ''))),
        plot: axis?.querySelector('.role-axis-domain')?.getBoundingClientRect().width ?? -1,
        column: chart.clientWidth,
      }
    }
    return axes as Record<StepChart, StepAxis>
  }, [...STEP_CHARTS])
}

/** Scrolls each step-axis chart into view in turn: a chart out of view takes its updates only when seen. */
async function seeEveryStepChart(page: Page) {
  for (const name of STEP_CHARTS) {
    await page.locator(`[data-chart="${name}"]`).scrollIntoViewIfNeeded()
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  }
}

/** Step-axis charts whose plot is narrower than 80% of their column, described. */
async function collapsedCharts(page: Page): Promise<string[]> {
  const axes = await stepAxes(page)
  return Object.entries(axes)
    .filter(([, a]) => a.plot < 0.8 * a.column)
    .map(([name, a]) => `${name}: plot ${Math.round(a.plot)} px wide in a ${a.column} px column`)
}

/** Waits until every step-axis chart's plot fills its column (see the first test). */
async function chartsFitted(page: Page) {
  await expect.poll(() => collapsedCharts(page), { timeout: 5_000 }).toEqual([])
}

/** The sparsity chart's plot area on screen, and the pixel of a step on it. */
async function sparsityPlot(page: Page) {
  await page.locator('[data-chart="sparsity"]').scrollIntoViewIfNeeded()
  const x = (await page.locator('[data-chart="sparsity"] g.role-axis[aria-label^="X-axis"] .role-axis-domain line').boundingBox())!
  const y = (await page.locator('[data-chart="sparsity"] g.role-axis[aria-label^="Y-axis"] .role-axis-domain line').boundingBox())!
  const [from, to] = [lo, hi]
  return {
    xOf: (step: number) => x.x + ((step - from) / (to - from)) * x.width,
    middle: y.y + y.height / 2,
  }
}

/** The colour sparsitySpec gives the rules that mark where flags start (packages/core/src/chartSpecs.ts). */
const FLAG_MARK_COLOR = '#D55E00'

/**
 * The flag marks drawn on the sparsity chart: every visible rule in the flags' colour, with the step at its x as
 * the chart's own x axis reads it (interpolated between its first and last ticks), rounded.
 */
function flagMarkSteps(page: Page): Promise<{ step: number; stroke: string }[]> {
  return page.evaluate((color) => {
    const chart = document.querySelector('[data-chart="sparsity"]')!
    const axis = [...chart.querySelectorAll('g.role-axis')].find((g) => g.getAttribute('aria-label')?.startsWith('X-axis'))!
    // the tick lines, not their labels: the first and last labels are flush with the axis's ends, not centred
    const lines = [...axis.querySelectorAll('.role-axis-tick line')]
    const ticks = [...axis.querySelectorAll('.role-axis-label text')].map((t, i) => ({ step: Number(t.textContent!.replaceAll(',', '')), x: lines[i]!.getBoundingClientRect().left }))
    const [first, last] = [ticks[0]!, ticks.at(-1)!]
    const stepAt = (x: number) => first.step + ((x - first.x) / (last.x - first.x)) * (last.step - first.step)
    return [...chart.querySelectorAll('g.mark-rule.role-mark > line')]
      .filter((line) => line.getAttribute('stroke')?.toUpperCase() === color && Number(getComputedStyle(line).opacity) > 0)
      .map((line) => ({ step: Math.round(stepAt(line.getBoundingClientRect().left)), stroke: line.getAttribute('stroke')!.toUpperCase() }))
  }, FLAG_MARK_COLOR)
}

/** The values of the Vega tooltip on show, by their keys. */
async function tooltip(page: Page): Promise<[string, string][]> {
  const shown = page.locator('#vg-tooltip-element.visible')
  await shown.waitFor()
  return shown.locator('tr').evaluateAll((rows) => rows.map((row) => [row.querySelector('.key')!.textContent!, row.querySelector('.value')!.textContent!] as [string, string]))
}

test('the step-axis charts fill their column as soon as the page loads', async () => {
  const { page, context } = await newPage()
  await page.goto(`${shared.url}/`)
  await dashboardShown(page)
  // No window resize happens here, as none happens for a user who just opens the page.
  await expect
    .poll(() => collapsedCharts(page), { timeout: 3_000, message: 'charts drawn with a collapsed plot area (their marks squeezed onto the y axis)' })
    .toEqual([])
  await context.close()
})

test('brushing across the sparsity chart zooms every step-axis chart; Reset zoom restores the run', async () => {
  const { page, context } = await newPage()
  await page.goto(`${shared.url}/`)
  await dashboardShown(page)
  await chartsFitted(page)
  expect(await page.getByRole('button', { name: 'Reset zoom' }).count()).toBe(0)

  const span = hi - lo
  const [start, end] = [lo + Math.round(span / 3), lo + Math.round((2 * span) / 3)]
  const plot = await sparsityPlot(page)
  await page.mouse.move(plot.xOf(start), plot.middle)
  await page.mouse.down()
  await page.mouse.move((plot.xOf(start) + plot.xOf(end)) / 2, plot.middle, { steps: 4 })
  await page.mouse.move(plot.xOf(end), plot.middle, { steps: 4 })
  await page.mouse.up()

  await page.getByRole('button', { name: 'Reset zoom' }).waitFor()
  const status = (await page.locator('.slp-zoom').textContent())!
  const match = new RegExp(`^Steps ([\\d,]+)–([\\d,]+) of ${count(lo)}–${count(hi)}`).exec(status)
  expect(match, `zoom status "${status}"`).not.toBeNull()
  const [a, b] = [Number(match![1]!.replaceAll(',', '')), Number(match![2]!.replaceAll(',', ''))]
  expect(a).toBeLessThan(b)
  expect(a).toBeGreaterThanOrEqual(lo)
  expect(b).toBeLessThanOrEqual(hi)
  // the range dragged over, to the step (a pixel is under a step here; the ends are rounded outwards)
  expect(Math.abs(a - start)).toBeLessThanOrEqual(2)
  expect(Math.abs(b - end)).toBeLessThanOrEqual(2)
  expect(new URL(page.url()).searchParams.get('zoom')).toBe(`${a}-${b}`)

  // every step-axis chart now spans [a, b] once seen: its tick labels lie within it and spread across it
  await expect
    .poll(async () =>
      Object.entries(await seeEveryStepChart(page).then(() => stepAxes(page)))
        .filter(([, axis]) => axis.labels.length < 2 || axis.labels.some((step) => step < a || step > b) || Math.max(...axis.labels) - Math.min(...axis.labels) < (b - a) / 2)
        .map(([name, axis]) => `${name}: ${axis.labels.join(', ')}`),
    )
    .toEqual([])

  // Marks outside the zoomed range must not be drawn over the axes and margins: each step-axis chart's lines,
  // points and bars reaching past its plot area are clipped to it.
  const unclipped = await page.evaluate((charts) =>
    charts.flatMap((name) => {
      const chart = document.querySelector(`[data-chart="${name}"]`)!
      const axis = [...chart.querySelectorAll('g.role-axis')].find((g) => g.getAttribute('aria-label')?.startsWith('X-axis'))!
      const plot = axis.querySelector('.role-axis-domain')!.getBoundingClientRect()
      const marks = [...chart.querySelectorAll('.role-mark path, .role-mark line')].filter((m) => !m.closest('.role-axis, .role-legend'))
      const outside = marks.filter((m) => {
        const box = m.getBoundingClientRect()
        return box.width + box.height > 0 && (box.left < plot.left - 1 || box.right > plot.right + 1)
      })
      const clipped = (m: Element) => {
        for (let e: Element | null = m; e && e !== chart; e = e.parentElement) if (e.hasAttribute('clip-path')) return true
        return false
      }
      const spilling = outside.filter((m) => !clipped(m))
      return spilling.length ? [`${name}: ${spilling.length} mark(s) drawn past the plot area ` + [...new Set(spilling.map((m) => m.parentElement!.getAttribute('class')))].join(';')] : []
    }),
  [...STEP_CHARTS])
  expect.soft(unclipped, 'zoomed charts draw marks outside their plot area, over the y axis').toEqual([])
  // ...and as Vega fits the whole drawing into the column, a window resize while zoomed must not squeeze the plots
  await page.evaluate(() => window.dispatchEvent(new Event('resize')))
  await page.waitForTimeout(500) // Vega re-measures on the resize event; 0.5 s is many frames
  expect.soft(await collapsedCharts(page), 'charts collapsed by a window resize while zoomed').toEqual([])

  await page.getByRole('button', { name: 'Reset zoom' }).click()
  await page.locator('.slp-zoom').waitFor({ state: 'detached' })
  expect(new URL(page.url()).searchParams.has('zoom')).toBe(false)
  await chartsFitted(page)
  await expect
    .poll(async () =>
      Object.entries(await seeEveryStepChart(page).then(() => stepAxes(page)))
        .filter(([, axis]) => axis.labels.some((step) => step < lo || step > hi) || Math.min(...axis.labels) > lo + span / 4 || Math.max(...axis.labels) < hi - span / 4)
        .map(([name, axis]) => `${name}: ${axis.labels.join(', ')}`),
    )
    .toEqual([])
  await context.close()
})

test('the URL restores run, inspected layer, step and zoom; a layer change is written back; the token stays', async () => {
  const token = 's3cret-views'
  const server = await startServer({ port: 0, logdir: tempDir('views-url'), token })
  const response = await fetch(`${server.url}/api/ingest`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${token}` },
    body: toNdjson(recorded),
  })
  expect(response.status).toBe(200)
  const { page, context } = await newPage()
  // A browser cannot send a header when it opens a page: the page and its script get it here (as a proxy in
  // front of the server would add it); the dashboard's own requests must use the token from the URL.
  await page.route(
    (url) => url.pathname === '/' || url.pathname.startsWith('/assets/') || url.pathname === '/favicon.ico',
    (route) => route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${token}` } }),
  )
  const pinned = samples.find((s) => s.step > 50 && s.step < 150 && s !== samples.at(-1)) ?? samples[Math.floor(samples.length / 2)]!
  const fc2 = pinned.layers.find((l) => l.name === 'fc2')!
  await page.goto(`${server.url}/?token=${token}&run=${encodeURIComponent(run.run)}&layer=fc2&step=${pinned.step}&zoom=50-150`)
  await dashboardShown(page)

  expect(await page.locator('select[aria-label="Layer"]').inputValue()).toBe('fc2')
  await page.locator('.slp-controls label').filter({ hasText: `Step ${count(pinned.step)}` }).waitFor()
  expect((await page.locator('.slp-controls label').first().textContent())!.trim()).toBe(`Step ${count(pinned.step)}`)
  expect(await page.locator('[data-stat="layer-nnz"]').textContent()).toBe(`${count(fc2.nnz)} / ${count(fc2.numel)}`)
  expect(await page.locator('[data-stat="layer-sparsity"]').textContent()).toBe(percent(fc2.sparsity))
  expect(await page.locator('.slp-zoom').textContent()).toContain(`Steps 50–150 of ${count(lo)}–${count(hi)}`)
  expect(await page.locator('header select').inputValue()).toBe(run.run)
  const sparsityLabels = (await stepAxes(page)).sparsity.labels
  expect(sparsityLabels.length).toBeGreaterThan(0)
  expect(sparsityLabels.every((step) => step >= 50 && step <= 150), `sparsity x labels ${sparsityLabels.join(', ')}`).toBe(true)

  // a layer change rewrites the URL in place: no navigation, no history entry, the token and zoom kept
  const historyLength = await page.evaluate(() => {
    ;(window as unknown as { __samePage: boolean }).__samePage = true
    return history.length
  })
  await page.locator('select[aria-label="Layer"]').selectOption('head')
  await expect.poll(() => new URL(page.url()).searchParams.get('layer')).toBe('head')
  const params = new URL(page.url()).searchParams
  expect(params.get('token')).toBe(token)
  expect(params.get('run')).toBe(run.run)
  expect(params.get('zoom')).toBe('50-150')
  expect(params.has('step')).toBe(false) // another layer: the newest step again
  expect(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true)
  expect(await page.evaluate(() => history.length)).toBe(historyLength)
  const head = samples.at(-1)!.layers.find((l) => l.name === 'head')!
  await page.locator('[data-stat="layer-nnz"]').filter({ hasText: `${count(head.nnz)} / ${count(head.numel)}` }).waitFor()
  await context.close()
  await server.close()
})

test("the sparsity chart's crosshair tooltip lists every layer's sparsity at the step under the pointer", async () => {
  const { page, context } = await newPage()
  await page.goto(`${shared.url}/`)
  await dashboardShown(page)
  await chartsFitted(page)
  const plot = await sparsityPlot(page)
  for (const sample of [samples[Math.floor(samples.length / 2)]!, samples.at(-2)!]) {
    await page.mouse.move(plot.xOf(sample.step), plot.middle)
    await expect
      .poll(() => tooltip(page))
      .toEqual([['Step', count(sample.step)], ...layerNames.map((name) => [name, percent(sample.layers.find((l) => l.name === name)!.sparsity)])])
  }
  await context.close()
})

test('each chart downloads as <chart>.png and <chart>.svg', async () => {
  const { page, context } = await newPage({ acceptDownloads: true })
  await page.goto(`${shared.url}/`)
  await dashboardShown(page)
  for (const chart of ['sparsity', 'churn'] as const) {
    const figure = page.locator(`figure:has([data-chart="${chart}"])`)
    await figure.scrollIntoViewIfNeeded()
    await figure.hover()
    const [png] = await Promise.all([page.waitForEvent('download'), figure.getByTitle(`Download ${chart} as PNG`).click()])
    expect(png.suggestedFilename()).toBe(`${chart}.png`)
    const pngBytes = readFileSync((await png.path())!)
    expect([...pngBytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const svgWidth = Number(await page.locator(`[data-chart="${chart}"] svg`).getAttribute('width'))
    expect(pngBytes.readUInt32BE(16)).toBe(2 * svgWidth) // IHDR width: drawn at twice the chart's size

    await figure.hover()
    const [svg] = await Promise.all([page.waitForEvent('download'), figure.getByTitle(`Download ${chart} as SVG`).click()])
    expect(svg.suggestedFilename()).toBe(`${chart}.svg`)
    const text = readFileSync((await svg.path())!, 'utf8')
    expect(text.startsWith('<svg')).toBe(true)
    expect(text).toContain('Training step')
  }
  await context.close()
})

test('a server without runs shows how to send one, and the snippet copies', async () => {
  const server = await startServer({ port: 0, logdir: tempDir('views-empty') })
  const { page, context } = await newPage({ permissions: ['clipboard-read', 'clipboard-write'] })
  await page.goto(`${server.url}/`)
  const empty = page.getByRole('region', { name: 'No runs yet' })
  await empty.getByRole('heading', { name: 'No runs yet' }).waitFor()
  expect(await empty.locator('p').textContent()).toContain(`This server (${server.url})`)
  const snippet = (await empty.locator('pre code').textContent())!
  expect(snippet).toContain('SparsityProfilerCallback')
  expect(snippet).toContain('profiler.step(loss=loss)')
  expect(await page.locator('[data-chart]').count()).toBe(0)
  // headless chromium grants the clipboard permissions, so the copied text can be read back
  await empty.getByRole('button', { name: 'Copy snippet' }).click()
  await empty.getByRole('button', { name: 'Copied' }).waitFor()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(snippet)
  await context.close()
  await server.close()
})

test('the status pill says paused, then that the server is unreachable, and export is disabled meanwhile', async () => {
  const server = await startServer({ port: 0, logdir: tempDir('views-status') })
  await ingest(server, recorded.filter((r) => r.type !== 'end')) // still running: pausing is possible
  const { page, context } = await newPage()
  await page.goto(`${server.url}/`)
  await dashboardShown(page)
  const pill = page.locator('.slp-status')
  await expect.poll(() => pill.textContent()).toBe('live')
  const exportButton = page.getByRole('button', { name: 'Export report' })
  expect(await exportButton.isEnabled()).toBe(true)

  await page.getByRole('button', { name: 'Pause updates' }).click()
  expect(await pill.textContent()).toBe('paused')
  expect(await pill.getAttribute('class')).toContain('slp-status-paused')

  await server.close()
  await expect.poll(() => pill.textContent(), { timeout: 10_000 }).toBe('server unreachable, retrying…')
  expect(await pill.getAttribute('class')).toContain('slp-status-unreachable')
  expect(await exportButton.isDisabled()).toBe(true)
  expect(await exportButton.getAttribute('title')).toBe('The server is not answering')
  await context.close()
})

test("embedded in a styled page, the dashboard keeps its own look and the page keeps its own", async () => {
  const host = await serveEmbedHost(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Styled host</title>
<style>h1,h2{color:rgb(255,0,0);text-transform:uppercase} button{background:rgb(0,128,0)}</style>
</head><body>
<h1 id="host-title">Host portal</h1><h2 id="host-subtitle">Experiments</h2><button id="host-button" type="button">Host action</button>
<div id="dashboard"></div>
<script type="module">
  import { mount } from './embed.js'
  mount(document.getElementById('dashboard'), { url: new URLSearchParams(location.search).get('server') })
</script>
</body></html>`)
  const hostOrigin = host.origin
  const server = await startServer({ port: 0, logdir: tempDir('views-embed'), corsOrigins: [hostOrigin] })
  await ingest(server, recorded)
  const { page, context } = await newPage()
  await page.goto(`${hostOrigin}/?server=${encodeURIComponent(server.url)}`)
  await dashboardShown(page, samples.length, '#dashboard')

  const look = (selector: string) =>
    page.locator(selector).evaluateAll((els) =>
      els.map((el) => {
        const style = getComputedStyle(el)
        return { text: el.textContent!.trim().slice(0, 30), color: style.color, transform: style.textTransform, background: style.backgroundColor }
      }),
    )
  // the dashboard: no heading red or upper-case
  const headings = await look('#dashboard .slp-dashboard :is(h1, h2)')
  expect(headings.length).toBeGreaterThan(4) // SparseLab Profiler, Training, Per-layer sparsity, Topology dynamics, Layer inspector
  expect(headings.filter((h) => h.color === 'rgb(255, 0, 0)' || h.transform !== 'none')).toEqual([])
  // the page: its own headings and button keep its rules (nothing of ours leaks out)
  expect(await look('#host-title, #host-subtitle')).toEqual([
    { text: 'Host portal', color: 'rgb(255, 0, 0)', transform: 'uppercase', background: 'rgba(0, 0, 0, 0)' },
    { text: 'Experiments', color: 'rgb(255, 0, 0)', transform: 'uppercase', background: 'rgba(0, 0, 0, 0)' },
  ])
  expect((await look('#host-button'))[0]!.background).toBe('rgb(0, 128, 0)')
  // dashboardCss.ts says its reset covers "a button theme" of the embedding page: the dashboard's buttons
  // (Pause, Export, downloads, Reset zoom) must not take the page's green
  const buttons = await look('#dashboard .slp-dashboard button')
  expect(buttons.length).toBeGreaterThan(2)
  expect.soft(buttons.filter((b) => b.background === 'rgb(0, 128, 0)').map((b) => b.text), "dashboard buttons painted with the host page's button rule").toEqual([])
  await context.close()
  await server.close()
  await host.close()
})

test('the loss chart draws one point per sample that carries a loss', async () => {
  const { page, context } = await newPage()
  await page.goto(`${shared.url}/`)
  await dashboardShown(page)
  const withLoss = samples.filter((s) => typeof s.scalars?.loss === 'number')
  expect(withLoss.length).toBeGreaterThan(1)
  expect(withLoss.length).toBeLessThan(samples.length) // the first sample, at step 0, has no loss yet
  const chart = page.locator('[data-chart="scalars"]')
  expect(await chart.getAttribute('data-rows')).toBe(String(withLoss.length)) // loss is the only scalar the demo passes
  expect(await page.locator('select[aria-label="Scalar"]').count()).toBe(0)
  expect(await chart.locator('.role-title-text').textContent()).toBe('loss')
  expect(await chart.locator('.mark-symbol.role-mark path').count()).toBe(withLoss.length)
  const line = chart.locator('.mark-line.role-mark path')
  expect(await line.count()).toBe(1)
  const vertices = (await line.getAttribute('d'))!.match(/[ML]/g)!.length
  expect(vertices).toBe(withLoss.length)
  await context.close()
})

test('a flag shows live within one sample of its cause, and its button inspects the layer at its step', async () => {
  // the real run up to its middle, then its next sample as if fc2 had diverged there (NaN weights counted)
  const cut = recorded.indexOf(samples[Math.floor(samples.length / 2)]!)
  const before = recorded.slice(0, cut)
  const cause = recorded[cut] as SampleRecord
  // 7 of fc2's stored weights became NaN: they leave its histogram (of finite values) and are counted apart
  const nan = (l: SampleRecord['layers'][number]) => {
    const counts = [...l.hist.counts]
    counts[counts.indexOf(Math.max(...counts))]! -= 7
    return { ...l, nonfinite: 7, hist: { ...l.hist, counts } }
  }
  const diverged: SampleRecord = { ...cause, layers: cause.layers.map((l) => (l.name === 'fc2' ? nan(l) : l)) }
  const server = await startServer({ port: 0, logdir: tempDir('views-flags') })
  await ingest(server, before)
  const { page, context } = await newPage()
  await page.goto(`${server.url}/`)
  // (the sparsity chart only: the step charts wait for updates the first half may not hold)
  await page.waitForFunction((rows) => Number(document.querySelector('[data-chart="sparsity"]')?.getAttribute('data-rows')) === rows, samples.indexOf(cause) * layerNames.length)
  expect(await page.locator('.slp-flag[data-rule="non-finite-weights"]').count()).toBe(0)

  await ingest(server, [diverged])
  const flag = page.locator('.slp-flag[data-rule="non-finite-weights"]')
  await flag.waitFor({ timeout: 5_000 })
  expect(await flag.textContent()).toContain(`fc2 holds 7 NaN or infinite weights at step ${count(cause.step)}`)
  expect(await page.locator('[data-flags]').textContent()).toMatch(/^\d+ flags?$/)
  // its marker on the sparsity chart: a rule in the flags' colour at the flag's step, as the x axis reads it
  await expect.poll(() => flagMarkSteps(page)).toEqual([{ step: cause.step, stroke: FLAG_MARK_COLOR }])
  await flag.getByRole('button', { name: 'Inspect fc2' }).click()
  expect(await page.locator('select[aria-label="Layer"]').inputValue()).toBe('fc2')
  await page.locator('.slp-controls label').first().filter({ hasText: `Step ${count(cause.step)}` }).waitFor()
  expect(new URL(page.url()).searchParams.get('step')).toBe(String(cause.step))
  await context.close()
  await server.close()
})

test('a run without topology updates shows the empty charts in their columns, with no horizontal overflow', async () => {
  const server = await startServer({ port: 0, logdir: tempDir('views-no-events') })
  await ingest(server, recorded.filter((r) => r.type !== 'event'))
  for (const width of [800, 1280]) {
    const { page, context } = await newPage({ viewport: { width, height: 900 } })
    await page.goto(`${server.url}/`)
    await page.locator('[data-chart="layer-events"].slp-chart-empty').waitFor()
    expect(await page.locator('[data-chart="churn"]').textContent()).toContain('No topology updates yet')
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0)
    await context.close()
  }
  await server.close()
})

/** The recorded run as a profiler that knows no masks would log it: no exploration counts anywhere. */
function withoutMaskHistory(records: WireRecord[]): WireRecord[] {
  return records.map((r) => {
    if (r.type === 'sample') return { ...r, layers: r.layers.map(({ active_ever: _ever, mask_changed: _changed, ...layer }) => layer) }
    if (r.type === 'event') {
      const { regrown: _regrown, ...event } = r
      return event
    }
    return r
  })
}

test("the exploration charts draw each masked layer and the whole model, heavier; the inspector gives a layer's ITOP, mask distance and regrowth", async () => {
  const masked = layerNames.filter((name) => samples.some((s) => s.layers.some((l) => l.name === name && l.active_ever !== undefined)))
  expect(masked.length).toBeGreaterThan(0) // the demo's SparseLab layers; its dense head has no mask
  expect(masked.length).toBeLessThan(layerNames.length)
  // one row per layer that says, and one for the whole model, per sample; a distance needs the sample before
  const rows = (counted: (layer: SampleRecord['layers'][number], i: number) => boolean) =>
    samples.reduce((n, s, i) => {
      const k = s.layers.filter((l) => counted(l, i)).length
      return n + k + (k > 0 ? 1 : 0)
    }, 0)
  const itopRows = rows((l) => l.active_ever !== undefined)
  const distanceRows = rows((l, i) => l.mask_changed !== undefined && i > 0 && samples[i - 1]!.layers.some((p) => p.name === l.name))
  const { page, context } = await newPage()
  await page.goto(`${shared.url}/`)
  await dashboardShown(page)
  expect(await page.locator('[data-chart="itop"]').getAttribute('data-rows')).toBe(String(itopRows))
  expect(await page.locator('[data-chart="mask-distance"]').getAttribute('data-rows')).toBe(String(distanceRows))
  for (const chart of ['itop', 'mask-distance']) {
    // a line per masked layer at 1.5 px and the whole model's at 3
    const widths = await page.locator(`[data-chart="${chart}"] .mark-line.role-mark path`).evaluateAll((paths) => paths.map((p) => p.getAttribute('stroke-width')).sort())
    expect(widths, chart).toEqual([...masked.map(() => '1.5'), '3'])
    const yLabels = await page.locator(`[data-chart="${chart}"] g.role-axis[aria-label^="Y-axis"] .role-axis-label text`).allTextContents()
    expect(yLabels.length, chart).toBeGreaterThan(1)
    expect(yLabels.every((label) => label.endsWith('%')), `${chart} y labels ${yLabels.join(', ')}`).toBe(true)
  }
  expect(await page.locator('[data-chart="itop"] g.role-axis[aria-label^="Y-axis"] .role-axis-label text').last().textContent()).toBe('100%')
  expect(await page.locator('[data-chart="itop"] .role-title-text').textContent()).toBe('In-time over-parameterization')
  expect(await page.locator('[data-chart="mask-distance"] .role-title-text').textContent()).toBe('Mask distance between samples')

  // the inspector, on the last masked layer at its newest sample
  const layer = masked.at(-1)!
  await page.locator('select[aria-label="Layer"]').selectOption(layer)
  const [before, last] = samples.slice(-2).map((s) => s.layers.find((l) => l.name === layer)!)
  const grows = recorded.filter((r): r is Extract<WireRecord, { type: 'event' }> => r.type === 'event' && r.layer === layer && r.op === 'grow' && r.regrown !== undefined && r.count > 0)
  const lastUpdate = grows.filter((e) => e.step === grows.at(-1)!.step)
  const [regrown, grown] = [lastUpdate.reduce((n, e) => n + e.regrown!, 0), lastUpdate.reduce((n, e) => n + e.count, 0)]
  await page.locator('[data-stat="layer-itop"]').filter({ hasText: percent(last!.active_ever! / last!.numel) }).waitFor()
  expect(await page.locator('[data-stat="layer-mask-distance"]').textContent()).toBe(percent(last!.mask_changed! / (before!.nnz + last!.nnz)))
  expect(await page.locator('[data-stat="layer-regrowth"]').textContent()).toBe(percent(regrown / grown))
  await page.locator('[data-chart="layer-regrowth"]').scrollIntoViewIfNeeded()
  await expect.poll(() => page.locator('[data-chart="layer-regrowth"]').getAttribute('data-rows')).toBe(String(new Set(grows.map((e) => e.step)).size))
  expect(await page.locator('[data-chart="layer-regrowth"] .role-title-text').textContent()).toBe(`Regrowth per update · ${layer}`)
  await context.close()
})

test('a run without mask history says why it has no exploration charts; past 12 layers they draw the whole model only', async () => {
  const server = await startServer({ port: 0, logdir: tempDir('views-exploration') })
  await ingest(server, withoutMaskHistory(recorded))
  const { page, context } = await newPage()
  await page.goto(`${server.url}/`)
  await page.locator('[data-chart="layer-events"] svg').waitFor()
  expect(await page.locator('[data-exploration="none"]').textContent()).toBe('No mask history: exploration needs layers with a mask (SparseLab, torch prune, rigl-torch…)')
  expect(await page.locator('[data-chart="itop"], [data-chart="mask-distance"], [data-chart="layer-itop"], [data-chart="layer-regrowth"]').count()).toBe(0)
  expect(await page.locator('[data-stat="layer-itop"], [data-stat="layer-mask-distance"], [data-stat="layer-regrowth"]').count()).toBe(0)
  await context.close()

  // five copies of every layer (15): the run-level charts draw one line, all layers together
  const copies = 5
  const renamed = (name: string, k: number) => `${name}.copy${k}`
  const wide = recorded.flatMap((r): WireRecord[] => {
    if (r.type === 'run') return [{ ...r, run: 'wide-exploration', layers: r.layers.flatMap((l) => Array.from({ length: copies }, (_, k) => ({ ...l, name: renamed(l.name, k) }))) }]
    if (r.type === 'sample') return [{ ...r, run: 'wide-exploration', layers: r.layers.flatMap((l) => Array.from({ length: copies }, (_, k) => ({ ...l, name: renamed(l.name, k) }))) }]
    if (r.type === 'event') return Array.from({ length: copies }, (_, k) => ({ ...r, run: 'wide-exploration', layer: renamed(r.layer, k) }))
    if (r.type === 'layer') return [{ ...r, run: 'wide-exploration', layer: renamed(r.layer, 0), info: r.info && { ...r.info, name: renamed(r.layer, 0) } }]
    return [{ ...r, run: 'wide-exploration' }]
  }).map((r, seq) => ({ ...r, seq }))
  await ingest(server, wide)
  const second = await newPage()
  await second.page.goto(`${server.url}/?run=wide-exploration`)
  const itop = second.page.locator('[data-chart="itop"]')
  await itop.locator('svg').waitFor()
  const withCounts = samples.filter((s) => s.layers.some((l) => l.active_ever !== undefined)).length
  await expect.poll(() => itop.getAttribute('data-rows')).toBe(String(withCounts))
  expect(await itop.locator('.mark-line.role-mark path').count()).toBe(1)
  expect(await itop.locator('.role-title-text').textContent()).toBe('In-time over-parameterization · all layers')
  await second.context.close()
  await server.close()
})
