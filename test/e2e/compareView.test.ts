import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import {
  comparedHistogramRows,
  compareRuns,
  MAX_COMPARED_RUNS,
  summaryRows,
  type EndRecord,
  type Flag,
  type RunOverview,
  type RunRecord,
  type SampleRecord,
  type WireRecord,
} from '@sparselab-profiler/core'
import { startServer, type RunningServer } from 'sparselab-profiler'
import { serveEmbedHost } from '../support/embedHost.js'
import { launchChromium, tempDir } from '../support/env.js'
import { chartFindings, checkAll, overflowFindings } from '../support/pageChecks.js'
import { recordRealRun, toNdjson } from '../support/recordedRun.js'

// The dashboard's compare view in real chromium, on two real recorded runs of the SparseLab demo trained with
// different settings (A: the defaults, 300 steps; B: 80% sparsity, an update every 100 steps, 400 steps), a
// third made from B with its `head` layer renamed and one layer added, and four with each layer of A or B split
// into five (15 layers, past the line charts' limit): its layout at two widths in both schemes and at the limit
// of runs and layers, the summary and overlays as core computes them, the URL, a live run growing beside a
// finished one, layers only some runs have, the compare inspector, zoom and the compare report's export.
// Expected values come from the run logs or from core's compareRuns over what the server answers.

let browser: Browser
let a: WireRecord[]
let b: WireRecord[]
/** B with its `head` layer renamed `classifier` and a copy of it as EXTRA_LAYER, as another run. */
let renamed: WireRecord[]
let server: RunningServer
const RENAMED = 'renamed-layers'
const EXTRA_LAYER = 'aux_head'
/** MAX_COMPARED_RUNS runs made from A, B, B and A with each layer split into LAYER_COPIES layers. */
const WIDE = ['wide-a', 'wide-b', 'wide-c', 'wide-d'] as const
const LAYER_COPIES = 5

const runOf = (records: WireRecord[]) => records[0] as RunRecord
const samplesOf = (records: WireRecord[]) => records.filter((r): r is SampleRecord => r.type === 'sample')
const count = (n: number) => n.toLocaleString('en-US')

/** Every chart of the compare view with a line-chart layout (the run has 3 shared layers: no heatmap). */
const COMPARE_CHARTS = [
  'compare-sparsity',
  'compare-sparsity-difference',
  'compare-churn',
  'compare-churn-difference',
  'compare-histogram',
  'compare-layer-events',
  'compare-layer-sparsity',
  'compare-layer-difference',
] as const
/** The compare charts on the shared x axis (all but the histogram). */
const AXIS_CHARTS = COMPARE_CHARTS.filter((name) => name !== 'compare-histogram')

async function ingest(to: RunningServer, records: WireRecord[]) {
  const response = await fetch(`${to.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: toNdjson(records) })
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`)
}

/**
 * `records` as another run (named `name`, if given) in which each layer is the layers `to` maps its name to,
 * each with the original's values; seqs are numbered again, as a run's must follow one another.
 */
function reshapeLayers(records: WireRecord[], run: string, to: (layer: string) => string[], name?: string): WireRecord[] {
  const reshaped = records.flatMap((r): WireRecord[] => {
    if (r.type === 'run') return [{ ...r, run, name: name ?? r.name, layers: r.layers.flatMap((l) => to(l.name).map((n) => ({ ...l, name: n }))) }]
    if (r.type === 'sample') return [{ ...r, run, layers: r.layers.flatMap((l) => to(l.name).map((n) => ({ ...l, name: n }))) }]
    if (r.type === 'event') return to(r.layer).map((layer) => ({ ...r, run, layer }))
    if (r.type === 'layer') return to(r.layer).map((layer) => ({ ...r, run, layer, info: r.info && { ...r.info, name: layer } }))
    return [{ ...r, run } as WireRecord]
  })
  return reshaped.map((r, seq) => ({ ...r, seq }))
}

beforeAll(async () => {
  ;[browser, a, b] = await Promise.all([launchChromium(), recordRealRun(300), recordRealRun(400, ['--sparsity', '0.8', '--update-freq', '100', '--seed', '2'])])
  renamed = reshapeLayers(b, RENAMED, (layer) => (layer === 'head' ? ['classifier', EXTRA_LAYER] : [layer]))
  const split = (layer: string) => Array.from({ length: LAYER_COPIES }, (_, k) => `model.encoder.layers.${k}.${layer}`)
  const wide = [a, b, b, a].map((records, i) => reshapeLayers(records, WIDE[i]!, split, `${runOf(records).name}-wide-${i + 1}`))
  server = await startServer({ port: 0, logdir: tempDir('compare') })
  for (const records of [a, b, renamed, ...wide]) await ingest(server, records)
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** A page in a context of its own, with console warnings, errors and page errors collected. */
async function openPage(width = 1280, scheme: 'light' | 'dark' = 'light') {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: scheme })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'warning' || message.type() === 'error') problems.push(`console.${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  return { page, problems, close: () => context.close() }
}

const compareUrl = (to: RunningServer, run: string, compare: string, extra = '') => `${to.url}/?run=${encodeURIComponent(run)}&compare=${encodeURIComponent(compare)}${extra}`

/**
 * Waits until every one of `names` (a compare chart: Vega svg or canvas heatmap) is drawn with marks and rows
 * (`rows` pins the first one's) and nothing changed for 0.6 s.
 */
async function compareSettled(page: Page, rows?: number, names: readonly string[] = COMPARE_CHARTS) {
  const deadline = Date.now() + 60_000
  let last = ''
  let stableSince = Date.now()
  for (;;) {
    const charts = await page.evaluate(
      (names) =>
        names.map((name) => {
          const el = document.querySelector(`[data-chart="${name}"]`)
          return { name, rows: Number(el?.getAttribute('data-rows') ?? -1), drawn: el instanceof HTMLCanvasElement || !!el?.querySelector('svg .role-mark') }
        }),
      [...names],
    )
    const state = JSON.stringify(charts)
    if (state !== last) [last, stableSince] = [state, Date.now()]
    const ready = charts.every((c) => c.drawn && c.rows > 0) && (rows === undefined || charts[0]!.rows === rows)
    if (ready && Date.now() - stableSince >= 600) break
    if (Date.now() > deadline) throw new Error(`the compare view did not settle within 60 s: ${charts.map((c) => `${c.name} rows=${c.rows}${c.drawn ? '' : ' (not drawn)'}`).join(', ')}`)
    await page.waitForTimeout(200)
  }
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

/** What the page computes from: each run's overview and flags as the server answers them. */
async function served(to: RunningServer, runs: string[]): Promise<{ overview: RunOverview; flags: Flag[] }[]> {
  const get = async (path: string) => (await fetch(`${to.url}${path}`)).json()
  return Promise.all(
    runs.map(async (run) => ({ overview: (await get(`/api/runs/${run}/overview`)) as RunOverview, flags: ((await get(`/api/runs/${run}/flags`)) as { flags: Flag[] }).flags })),
  )
}

/** A chart's `data-rows` once it has been seen: a chart out of view takes its updates when it comes into view. */
async function rowsOf(page: Page, name: string): Promise<number> {
  await page.locator(`[data-chart="${name}"]`).scrollIntoViewIfNeeded()
  await page.evaluate(() => new Promise((resolve) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(resolve)), 100)))
  return Number(await page.locator(`[data-chart="${name}"]`).getAttribute('data-rows'))
}

/** The x axis tick labels of each chart, as numbers. */
function axisLabels(page: Page, names: readonly string[]): Promise<Record<string, number[]>> {
  return page.evaluate((charts) => {
    const labels: Record<string, number[]> = {}
    for (const name of charts) {
      const chart = document.querySelector(`[data-chart="${name}"]`)!
      const axis = [...chart.querySelectorAll('g.role-axis')].find((g) => g.getAttribute('aria-label')?.startsWith('X-axis'))
      labels[name] = [...(axis?.querySelectorAll('.role-axis-label text') ?? [])].map((t) => Number(t.textContent!.replaceAll(',', '').replace('%', '')))
    }
    return labels
  }, names)
}

describe.concurrent('layout', () => {
  const combinations = [1280, 800].flatMap((width) => (['light', 'dark'] as const).map((scheme) => [`${count(width)} px, ${scheme}`, { width, scheme }] as const))
  test.for(combinations)('the compare view at %s: no overflow, no cut-off text, every chart with marks in the scheme, differing rows legible', async ([, { width, scheme }], { expect }) => {
    const { page, problems, close } = await openPage(width, scheme)
    try {
      await page.goto(compareUrl(server, runOf(a).run, runOf(b).run))
      await compareSettled(page)
      await page.locator('.slp-inspector').scrollIntoViewIfNeeded()
      await compareSettled(page)
      checkAll(
        expect,
        {
          overflow: await page.evaluate(overflowFindings, '.slp-dashboard'),
          charts: await page.evaluate(chartFindings, { chartSelector: '.slp-compare [data-chart]', scheme }),
          problems,
        },
        `compare view (${count(width)} px, ${scheme})`,
      )
      // the highlighted rows: their text against their own background, by CIE lightness as chartFindings measures it
      const contrast = await page.evaluate(() => {
        // computed colours come as rgb(0–255 …), or as color(srgb 0–1 …) where CSS mixed them
        const lightness = (color: string) => {
          const scale = color.startsWith('color(') ? 255 : 1
          const [r, g, b] = color.match(/[\d.]+/g)!.map((c) => Number(c) * scale)
          const lin = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
          const y = 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!)
          return (y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y) / 100
        }
        return [...document.querySelectorAll('tr[data-differs] :is(th, td)')].map((cell) => {
          const row = cell.closest('tr')!
          return Math.abs(lightness(getComputedStyle(cell).color) - lightness(getComputedStyle(row).backgroundColor))
        })
      })
      expect(contrast.length).toBeGreaterThan(0)
      expect(Math.min(...contrast), 'text of a highlighted row against its background').toBeGreaterThan(0.5)
    } finally {
      await close()
    }
  })

  // At the limit: MAX_COMPARED_RUNS runs of 15 shared layers, so the overlay draws each run's whole model and
  // the per-layer difference is one canvas heatmap per later run.
  const atLimit = [
    ['800 px, dark', { width: 800, scheme: 'dark' }],
    ['1,280 px, light', { width: 1280, scheme: 'light' }],
  ] as const
  test.for(atLimit)(`${MAX_COMPARED_RUNS} runs of ${3 * LAYER_COPIES} shared layers at %s: the heatmap differences and the overlays fit, drawn, in the scheme`, async ([, { width, scheme }], { expect }) => {
    const { page, problems, close } = await openPage(width, scheme)
    const maps = WIDE.slice(1).map((_, k) => `compare-sparsity-difference-${String.fromCharCode(66 + k)}`)
    const charts = ['compare-sparsity', ...maps, ...COMPARE_CHARTS.filter((name) => name !== 'compare-sparsity' && name !== 'compare-sparsity-difference')]
    try {
      expect(WIDE).toHaveLength(MAX_COMPARED_RUNS)
      await page.goto(`${server.url}/?run=${WIDE[0]}${WIDE.slice(1).map((run) => `&compare=${run}`).join('')}`)
      await compareSettled(page, undefined, charts)
      expect(await page.locator('.slp-compare').getAttribute('data-compare-runs')).toBe(String(MAX_COMPARED_RUNS))
      expect(await page.locator('canvas[data-chart^="compare-sparsity-difference-"]').evaluateAll((maps) => maps.map((m) => m.getAttribute('data-chart')))).toEqual(maps)
      expect(await page.locator('[data-only-in="none"]').textContent()).toBe(`Every run has the same ${3 * LAYER_COPIES} layers.`)
      // the overlay: one line per run (its whole model), named by letter
      const legend = await page.locator('[data-chart="compare-sparsity"] .role-legend-label text').allTextContents()
      expect(legend.filter((label) => /^[A-D]: /.test(label))).toEqual([a, b, b, a].map((records, i) => `${'ABCD'[i]}: ${runOf(records).name}-wide-${i + 1}`))
      await page.locator('.slp-inspector').scrollIntoViewIfNeeded()
      await compareSettled(page, undefined, charts)
      checkAll(
        expect,
        {
          overflow: await page.evaluate(overflowFindings, '.slp-dashboard'),
          charts: await page.evaluate(chartFindings, { chartSelector: '.slp-compare [data-chart]', scheme }),
          problems,
        },
        `compare view of ${MAX_COMPARED_RUNS} runs × ${3 * LAYER_COPIES} layers (${count(width)} px, ${scheme})`,
      )
      // SLP_SCREENSHOTS=<dir> keeps a full-page picture of each, to look at
      const shots = process.env.SLP_SCREENSHOTS
      if (shots) await page.screenshot({ path: `${shots}/compare-${MAX_COMPARED_RUNS}-runs-${width}-${scheme}.png`, fullPage: true })
    } finally {
      await close()
    }
  })
})

test('the summary and the overlays show what core computes from the two runs; differing parameters are highlighted', async () => {
  const { page, problems, close } = await openPage()
  try {
    await page.goto(compareUrl(server, runOf(a).run, runOf(b).run))
    await compareSettled(page)
    const comparison = compareRuns(await served(server, [runOf(a).run, runOf(b).run]), 'step')
    const [header, ...rows] = summaryRows(comparison)
    // the header: each run's letter and dash beside its name
    expect(await page.locator('.slp-compare-table thead th[data-run] [data-run-key]').evaluateAll((keys) => keys.map((k) => [k.textContent, k.querySelector('line')!.getAttribute('stroke-dasharray')]))).toEqual([
      ['A', '1 0'],
      ['B', '6 3'],
    ])
    expect(header!.cells).toEqual([runOf(a), runOf(b)].map((r) => `${r.name} (${r.run})`))
    const shown = await page.locator('.slp-compare-table tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({ label: tr.querySelector('th')!.textContent!.replace('≠', '').trim(), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent), differs: tr.hasAttribute('data-differs') })),
    )
    expect(shown).toEqual(rows.map(({ label, cells, differs }) => ({ label, cells, differs })))
    // from the run records: the parameters the demo was given differently
    const [pa, pb] = [runOf(a).algorithm!.params, runOf(b).algorithm!.params]
    const differing = Object.keys({ ...pa, ...pb }).filter((key) => pa[key] !== pb[key])
    expect(differing.sort()).toEqual(['sparsity', 'update_freq'])
    expect(shown.filter((r) => r.differs).map((r) => r.label).sort()).toEqual(differing)
    expect(await page.locator('[data-only-in="none"]').textContent()).toBe('Every run has the same 3 layers.')

    // the overlay: every sample of every layer of both runs; the difference: B's samples of every layer with an A sample at or before
    const layers = runOf(a).layers.length
    expect(await rowsOf(page, 'compare-sparsity')).toBe((samplesOf(a).length + samplesOf(b).length) * layers)
    expect(await rowsOf(page, 'compare-sparsity-difference')).toBe(comparison.sparsityDifference.length)
    expect(await rowsOf(page, 'compare-churn')).toBe(comparison.churn.length)
    expect(comparison.churn.length).toBeGreaterThan(0)
    // the legend names the runs by letter, each with its dash
    const legend = await page.locator('[data-chart="compare-sparsity"] .role-legend-label text').allTextContents()
    expect(legend).toEqual(expect.arrayContaining([`A: ${runOf(a).name}`, `B: ${runOf(b).name}`]))
    // one step axis: runs of 300 and 400 steps, both on it
    const labels = await axisLabels(page, AXIS_CHARTS)
    for (const name of AXIS_CHARTS) expect(Math.max(...labels[name]!), name).toBeGreaterThanOrEqual(samplesOf(b).at(-1)!.step - 50)
    expect(problems).toEqual([])
  } finally {
    await close()
  }
})

test('the URL restores compared runs and alignment; the picker and the toggle write them back; off when embedded', async () => {
  const { page, close } = await openPage()
  try {
    const [ra, rb] = [runOf(a).run, runOf(b).run]
    await page.goto(compareUrl(server, ra, rb, '&align=fraction&layer=fc2'))
    await compareSettled(page)
    expect(await page.locator('input[name="slp-align"][value="fraction"]').isChecked()).toBe(true)
    expect(await page.locator('.slp-inspector select[aria-label="Layer"]').inputValue()).toBe('fc2')
    const title = (name: string) => page.locator(`[data-chart="${name}"] g.role-axis[aria-label^="X-axis"] .role-axis-title text`).textContent()
    expect(await title('compare-sparsity')).toBe('Fraction of training')
    // by fraction, both runs end at 100%
    expect(Math.max(...(await axisLabels(page, ['compare-sparsity']))['compare-sparsity']!)).toBe(100)

    await page.locator('input[name="slp-align"][value="step"]').check()
    await expect.poll(() => new URL(page.url()).searchParams.has('align')).toBe(false)
    await expect.poll(() => title('compare-sparsity')).toBe('Training step')

    // the picker: says its limit, unticks B (the single-run page again), ticks it back
    await page.locator('.slp-compare-picker summary').click()
    expect(await page.locator('.slp-compare-menu').textContent()).toContain('Up to 3 other runs')
    expect(await page.locator(`.slp-compare-menu input[value="${rb}"]`).isChecked()).toBe(true)
    await page.locator(`.slp-compare-menu input[value="${rb}"]`).uncheck()
    await page.locator('[data-chart="sparsity"]').waitFor()
    await expect.poll(() => new URL(page.url()).searchParams.getAll('compare')).toEqual([])
    await page.locator(`.slp-compare-menu input[value="${RENAMED}"]`).check()
    await page.locator(`.slp-compare-menu input[value="${rb}"]`).check()
    // the view is already up with two runs after the first tick: wait for the second to land
    await expect.poll(() => new URL(page.url()).searchParams.getAll('compare')).toEqual([RENAMED, rb])
    await expect.poll(() => page.locator('.slp-compare').getAttribute('data-compare-runs')).toBe('3')
  } finally {
    await close()
  }

  // Embedded, the page's URL is the host's: compare is neither read from it nor written to it.
  const host = await serveEmbedHost(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title></head><body>
<div id="dashboard"></div>
<script type="module">
  import { mount } from './embed.js'
  const params = new URLSearchParams(location.search)
  mount(document.getElementById('dashboard'), { url: params.get('server'), run: params.get('first') })
</script></body></html>`)
  const embedServer = await startServer({ port: 0, logdir: tempDir('compare-embed'), corsOrigins: [host.origin] })
  for (const records of [a, b]) await ingest(embedServer, records)
  const embedded = await openPage()
  try {
    const url = `${host.origin}/?server=${encodeURIComponent(embedServer.url)}&first=${runOf(a).run}&compare=${runOf(b).run}&align=fraction`
    await embedded.page.goto(url)
    await embedded.page.locator('#dashboard [data-chart="sparsity"]').waitFor()
    expect(await embedded.page.locator('.slp-compare').count()).toBe(0)
    await embedded.page.locator('.slp-compare-picker summary').click()
    await embedded.page.locator(`.slp-compare-menu input[value="${runOf(b).run}"]`).check()
    await embedded.page.locator('.slp-compare-table').waitFor()
    await embedded.page.keyboard.press('Escape') // the picker's menu closes
    await embedded.page.locator('input[name="slp-align"][value="fraction"]').check()
    await expect.poll(() => embedded.page.locator('input[name="slp-align"][value="fraction"]').isChecked()).toBe(true)
    expect(embedded.page.url()).toBe(url)
  } finally {
    await embedded.close()
    await embedServer.close()
    await host.close()
  }
})

test('a live run compared with a finished one grows as its samples arrive, and says when it finished', async () => {
  const live = await startServer({ port: 0, logdir: tempDir('compare-live') })
  await ingest(live, a)
  // B's first third, then the rest in four parts while the page is open
  const third = Math.floor(b.length / 3)
  await ingest(live, b.slice(0, third))
  const { page, problems, close } = await openPage()
  try {
    await page.goto(compareUrl(live, runOf(a).run, runOf(b).run))
    const layers = runOf(a).layers.length
    const rowsFor = (records: WireRecord[]) => (samplesOf(a).length + samplesOf(records).length) * layers
    await compareSettled(page, rowsFor(b.slice(0, third)))
    const stepsCell = page.locator('.slp-compare-table tbody tr').filter({ has: page.locator('th', { hasText: /^Steps$/ }) }).locator('td').nth(1)
    expect(await stepsCell.textContent()).toBe(count(samplesOf(b.slice(0, third)).at(-1)!.step))
    expect(await page.locator(`.slp-compare-table th[data-run="${runOf(b).run}"]`).textContent()).toContain('live')
    const grown: number[] = []
    // the rest in four parts, each ending just after a sample (the last with the end record)
    const ends = b.flatMap((r, i) => (i >= third && r.type === 'sample' ? [i + 1] : []))
    expect(ends.length).toBeGreaterThanOrEqual(4)
    const cuts = [third, ...[1, 2, 3].map((k) => ends[Math.floor((k * ends.length) / 4) - 1]!), b.length]
    for (let part = 0; part < 4; part++) {
      const upTo = cuts[part + 1]!
      await ingest(live, b.slice(cuts[part], upTo))
      await page.waitForFunction((rows) => Number(document.querySelector('[data-chart="compare-sparsity"]')?.getAttribute('data-rows')) === rows, rowsFor(b.slice(0, upTo)), {
        timeout: 30_000,
      })
      grown.push(await rowsOf(page, 'compare-sparsity'))
    }
    expect(grown).toEqual([...grown].sort((x, y) => x - y))
    expect(new Set(grown).size).toBe(4)
    await expect.poll(() => page.locator(`.slp-compare-table th[data-run="${runOf(b).run}"]`).textContent()).toContain('run finished')
    await expect.poll(() => stepsCell.textContent()).toBe(count((b.at(-1) as EndRecord).step))
    // the difference chart and the inspector follow too
    await compareSettled(page, rowsFor(b))
    const comparison = compareRuns(await served(live, [runOf(a).run, runOf(b).run]), 'step')
    expect(await rowsOf(page, 'compare-sparsity-difference')).toBe(comparison.sparsityDifference.length)
    expect(problems).toEqual([])
  } finally {
    await close()
    await live.close()
  }
})

test('runs whose layer sets differ: both lists shown, the charts and the inspector on the shared layers', async () => {
  const { page, problems, close } = await openPage()
  try {
    await page.goto(compareUrl(server, runOf(a).run, RENAMED))
    const shared = runOf(a).layers.map((l) => l.name).filter((name) => name !== 'head')
    const onlyB = ['classifier', EXTRA_LAYER]
    expect(runOf(renamed).layers.map((l) => l.name)).toEqual([...shared, ...onlyB])
    await compareSettled(page, (samplesOf(a).length + samplesOf(renamed).length) * shared.length)
    expect(await page.locator(`[data-only-in="${runOf(a).run}"] .slp-layer-list`).textContent()).toBe('head')
    expect(await page.locator(`[data-only-in="${RENAMED}"] .slp-layer-list`).textContent()).toBe(onlyB.join(', '))
    expect(await page.locator('.slp-only-in summary').textContent()).toBe(`Layers not in every run, left out of the charts: A has 1, B has 2 (${shared.length} shared layers compared below)`)
    expect(await page.locator('.slp-inspector select[aria-label="Layer"] option').allTextContents()).toEqual(shared)
    // every chart with a legend of layers names the shared ones, and none of the layers only one run has
    const legends = await page.evaluate(
      (names) => Object.fromEntries(names.map((name) => [name, [...document.querySelectorAll(`[data-chart="${name}"] .role-legend-label text`)].map((t) => t.textContent!)])),
      [...COMPARE_CHARTS],
    )
    expect(legends['compare-sparsity']).toEqual(expect.arrayContaining(shared))
    const layerLegends = Object.entries(legends).filter(([, labels]) => labels.some((label) => shared.includes(label)))
    expect(layerLegends.map(([name]) => name)).toContain('compare-sparsity-difference')
    for (const [name, labels] of layerLegends) expect(labels.filter((label) => !shared.includes(label) && !/^[A-D]: /.test(label)), name).toEqual([])
    expect(problems).toEqual([])
  } finally {
    await close()
  }
})

test("the inspector draws both runs' histograms of the layer at matched steps on shared bins, and both runs' updates", async () => {
  const { page, close } = await openPage()
  try {
    await page.goto(compareUrl(server, runOf(a).run, runOf(b).run, '&layer=fc2'))
    await compareSettled(page)
    const fc2 = (s: SampleRecord) => s.layers.find((l) => l.name === 'fc2')!
    const lastA = samplesOf(a).at(-1)!
    const matchedB = samplesOf(b).filter((s) => s.step <= lastA.step).at(-1)!
    const rows = comparedHistogramRows([
      { hist: fc2(lastA).hist, series: 'A' },
      { hist: fc2(matchedB).hist, series: 'B' },
    ])
    expect(await rowsOf(page, 'compare-histogram')).toBe(rows.length)
    // shared edges: both series have the same bins
    expect(rows.filter((r) => r.series === 'A').map((r) => r.bin_start)).toEqual(rows.filter((r) => r.series === 'B').map((r) => r.bin_start))
    expect(await page.locator('[data-stat="compare-step"]').allTextContents()).toEqual([count(lastA.step), count(matchedB.step)])
    expect(await page.locator('[data-stat="compare-sparsity"]').allTextContents()).toEqual([fc2(lastA), fc2(matchedB)].map((l) => `${(l.sparsity * 100).toFixed(2)}%`))
    const legend = await page.locator('[data-chart="compare-histogram"] .role-legend-label text').allTextContents()
    expect(legend).toEqual([`A: ${runOf(a).name}`, `B: ${runOf(b).name}`])
    const updates = [a, b].map((records) => records.filter((r) => r.type === 'event' && r.layer === 'fc2').length)
    expect(updates.every((n) => n > 0)).toBe(true)
    expect(await rowsOf(page, 'compare-layer-events')).toBe(updates[0]! + updates[1]!)

    // an earlier step of A: B's histogram follows to its sample at or before it
    const pinned = samplesOf(a)[Math.floor(samplesOf(a).length / 2)]!
    await page.goto(compareUrl(server, runOf(a).run, runOf(b).run, `&layer=fc2&step=${pinned.step}`))
    await compareSettled(page)
    const pinnedB = samplesOf(b).filter((s) => s.step <= pinned.step).at(-1)!
    expect(await page.locator('[data-stat="compare-step"]').allTextContents()).toEqual([count(pinned.step), count(pinnedB.step)])
  } finally {
    await close()
  }
})

test('brushing across the overlay zooms every compare chart; Reset zoom restores both runs', async () => {
  const { page, close } = await openPage()
  try {
    await page.goto(compareUrl(server, runOf(a).run, runOf(b).run))
    await compareSettled(page)
    const chart = page.locator('[data-chart="compare-sparsity"]')
    await chart.scrollIntoViewIfNeeded()
    const x = (await chart.locator('g.role-axis[aria-label^="X-axis"] .role-axis-domain line').boundingBox())!
    const y = (await chart.locator('g.role-axis[aria-label^="Y-axis"] .role-axis-domain line').boundingBox())!
    const [lo, hi] = [samplesOf(a)[0]!.step, samplesOf(b).at(-1)!.step]
    const xOf = (step: number) => x.x + ((step - lo) / (hi - lo)) * x.width
    await page.mouse.move(xOf(100), y.y + y.height / 2)
    await page.mouse.down()
    await page.mouse.move(xOf(150), y.y + y.height / 2, { steps: 4 })
    await page.mouse.move(xOf(200), y.y + y.height / 2, { steps: 4 })
    await page.mouse.up()
    await page.getByRole('button', { name: 'Reset zoom' }).waitFor()
    // the URL takes the zoom just after the button shows
    await expect.poll(() => new URL(page.url()).searchParams.has('zoom')).toBe(true)
    const [from, to] = new URL(page.url()).searchParams.get('zoom')!.split('-').map(Number) as [number, number]
    expect(Math.abs(from - 100)).toBeLessThanOrEqual(3)
    expect(Math.abs(to - 200)).toBeLessThanOrEqual(3)
    for (const name of AXIS_CHARTS) await page.locator(`[data-chart="${name}"]`).scrollIntoViewIfNeeded()
    await expect
      .poll(async () =>
        Object.entries(await axisLabels(page, AXIS_CHARTS))
          .filter(([, labels]) => labels.length < 2 || labels.some((step) => step < from || step > to))
          .map(([name, labels]) => `${name}: ${labels.join(', ')}`),
      )
      .toEqual([])
    await page.getByRole('button', { name: 'Reset zoom' }).click()
    await expect.poll(() => new URL(page.url()).searchParams.has('zoom')).toBe(false)
  } finally {
    await close()
  }
})

test('the export dialog offers the compare report and posts the runs and their alignment', async () => {
  const { page, close } = await openPage()
  try {
    await page.goto(compareUrl(server, runOf(a).run, runOf(b).run, '&align=fraction'))
    await compareSettled(page)
    const posted: { url: string; body: unknown }[] = []
    page.on('request', (request) => {
      if (request.method() === 'POST') posted.push({ url: new URL(request.url()).pathname, body: request.postDataJSON() })
    })
    await page.getByRole('button', { name: 'Export report' }).click()
    expect(await page.locator('input[name="report"][value="compare"]').isChecked()).toBe(true)
    const title = await page.locator('.slp-dialog .slp-field input').inputValue()
    expect(title).toMatch(new RegExp(`^${runOf(a).name} vs ${runOf(b).name} - \\d{4}-\\d{2}-\\d{2}$`))
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Generate HTML' }).click()])
    expect(posted).toEqual([{ url: '/export', body: { run: runOf(a).run, compare: [runOf(b).run], align: 'fraction', title } }])
    expect(download.suggestedFilename()).toMatch(/^sparsity_compare_\d{4}-\d{2}-\d{2}\.html$/)
    // the server's compare report, titled as asked
    expect(readFileSync((await download.path())!, 'utf8')).toContain(`<title>${title}</title>`)
  } finally {
    await close()
  }
})
