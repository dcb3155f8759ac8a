import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, test } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { RunRecord, WireRecord } from '@sparselab-profiler/core'
import { startServer, type RunningServer } from 'sparselab-profiler'
import { launchChromium, tempDir } from '../support/env.js'
import { chartFindings, checkAll, overflowFindings } from '../support/pageChecks.js'
import { recordRealRun, toNdjson } from '../support/recordedRun.js'
import { trainingRun } from '../bench/syntheticRun.mjs'

// Layout and theme of the dashboard and the exported report, in real chromium, at three widths and both colour
// schemes, for a real 3-layer run (Vega line charts) and a generated 400-layer run (canvas heatmap on the
// dashboard, a Vega heatmap and per-layer charts in the report). Each page must: (a) not overflow the viewport
// sideways nor cut chart text off at a chart's edge, (b) draw its charts on a background of the page's scheme
// with text that contrasts with it, (c) draw marks in every chart, (d) log no warning or error and throw
// nothing. Every combination is its own test and the four checks are soft, so one run lists every defect; the
// last test runs the checks on a page built to fail each of them.

const WIDTHS = [800, 1280, 1920] as const
const SCHEMES = ['light', 'dark'] as const
type Scheme = (typeof SCHEMES)[number]

interface Fixture {
  run: string
  layers: number
  samples: number
  reportPath: string
}
const RUN_NAMES = ['3-layer', '400-layer'] as const
type RunName = (typeof RUN_NAMES)[number]

let browser: Browser
let server: RunningServer
const fixtures = {} as Record<RunName, Fixture>

async function ingest(records: WireRecord[]) {
  const response = await fetch(`${server.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: toNdjson(records) })
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`)
}

/** The run's report through `POST /export`, as the dashboard's export dialog gets it, written to a file. */
async function exportReport(run: string, dir: string): Promise<string> {
  const response = await fetch(`${server.url}/export`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ run }) })
  if (response.status !== 200) throw new Error(`POST /export answered ${response.status}: ${await response.text()}`)
  const path = join(dir, `${run}.html`)
  writeFileSync(path, await response.text())
  return path
}

async function addRun(name: RunName, records: WireRecord[], dir: string) {
  await ingest(records)
  const run = (records[0] as RunRecord).run
  fixtures[name] = {
    run,
    layers: (records[0] as RunRecord).layers.length,
    samples: records.filter((r) => r.type === 'sample').length,
    reportPath: await exportReport(run, dir),
  }
}

// One server, one browser and one recording of each run for all 24 combinations. The generated run is
// ingested and exported while the real one trains.
beforeAll(async () => {
  const training = recordRealRun(300)
  training.catch(() => {}) // awaited below; a failure is reported there
  const dir = tempDir('layout')
  ;[browser, server] = await Promise.all([launchChromium(), startServer({ port: 0, logdir: join(dir, 'runs') })])
  await addRun('400-layer', [...trainingRun({ run: 'wide', layerCount: 400, steps: 3100, every: 100, updateEvery: 1000, seed: 3 })] as WireRecord[], dir)
  await addRun('3-layer', await training, dir)
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

// Two pages at a time: each renders in its own chromium process, so two share the work of a 2-core machine.
const PAGES_AT_ONCE = 2
let pagesOpen = 0
const waitingForPage: (() => void)[] = []
async function pageSlot(): Promise<() => void> {
  if (pagesOpen >= PAGES_AT_ONCE) await new Promise<void>((resolve) => waitingForPage.push(resolve))
  else pagesOpen++
  return () => {
    const next = waitingForPage.shift()
    if (next) next()
    else pagesOpen--
  }
}

/** A page in a fresh context of the given size and scheme, with every warning, error and uncaught exception collected from before its load. */
async function openPage(width: number, scheme: Scheme) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: scheme })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'warning' || message.type() === 'error') problems.push(`console.${message.type() === 'warning' ? 'warn' : 'error'}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  return { page, problems, close: () => context.close() }
}

/** Waits until every `.chart` of a report says `data-rendered="true"`; on timeout names those that do not. */
async function reportRendered(page: Page) {
  const timeout = 90_000
  try {
    await page.waitForFunction(
      () => document.querySelectorAll('.chart').length > 0 && [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'),
      undefined,
      { timeout, polling: 100 },
    )
  } catch {
    const waiting = await page.evaluate(() => {
      const charts = [...document.querySelectorAll('.chart')]
      const left = charts.filter((c) => c.getAttribute('data-rendered') !== 'true').map((c) => `#${c.id}`)
      return `${left.length} of ${charts.length} .chart elements`
        + (left.length ? `: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', …' : ''}` : '')
    })
    throw new Error(`the report's charts did not all render within ${timeout / 1000} s (data-rendered="true"): still waiting for ${waiting}`)
  }
  // width: "container" charts resize on the next frames; let them settle before measuring
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

/** The charts on a dashboard page: name, rows shown, and whether a Vega svg or a canvas is drawn (else its text). */
const dashboardCharts = () =>
  [...document.querySelectorAll('[data-chart]')].map((el) => ({
    name: el.getAttribute('data-chart')!,
    rows: Number(el.getAttribute('data-rows')),
    drawn: el.tagName === 'CANVAS' || !!el.querySelector('svg'),
    text: el.tagName === 'CANVAS' || el.querySelector('svg') ? '' : (el.textContent ?? '').trim(),
  }))

/**
 * Waits until the dashboard shows its whole run: the sparsity chart has every sample of every layer, the
 * inspector's histogram is drawn, every other chart is drawn with rows or shows an empty-state text, and
 * nothing changed for 0.6 s (charts of the inspected layer arrive after the run's).
 */
async function dashboardSettled(page: Page, sparsityRows: number) {
  const deadline = Date.now() + 60_000
  let last = ''
  let stableSince = Date.now()
  for (;;) {
    const charts = await page.evaluate(dashboardCharts)
    const state = JSON.stringify(charts)
    if (state !== last) [last, stableSince] = [state, Date.now()]
    const rows = (name: string) => charts.find((c) => c.name === name && c.drawn)?.rows ?? 0
    const ready = rows('sparsity') >= sparsityRows && rows('histogram') > 0 && charts.every((c) => (c.drawn && c.rows > 0) || c.text !== '')
    if (ready && Date.now() - stableSince >= 600) break
    if (Date.now() > deadline) {
      const shown = charts.map((c) => `[data-chart="${c.name}"] data-rows=${c.rows}${c.drawn ? '' : c.text ? ` (text "${c.text.slice(0, 40)}")` : ' (nothing drawn)'}`)
      throw new Error(`the dashboard did not settle within 60 s (want sparsity data-rows ≥ ${sparsityRows} and a drawn histogram): ${shown.join(', ') || 'no [data-chart] element'}`)
    }
    await page.waitForTimeout(200)
  }
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

// [title, combination]: test.for gives each its own test, and the test context's expect for the soft checks
const combinations = RUN_NAMES.flatMap((run) =>
  WIDTHS.flatMap((width) => SCHEMES.map((scheme) => [`${run} run at ${width.toLocaleString('en-US')} px, ${scheme}`, { run, width, scheme }] as const)),
)

describe.concurrent('dashboard', () => {
  test.for(combinations)('%s', async ([, { run, width, scheme }], { expect }) => {
    const fixture = fixtures[run]
    const release = await pageSlot()
    const { page, problems, close } = await openPage(width, scheme)
    try {
      await page.goto(`${server.url}/?run=${encodeURIComponent(fixture.run)}`)
      await dashboardSettled(page, fixture.samples * fixture.layers)
      const checks = {
        overflow: await page.evaluate(overflowFindings, '.slp-dashboard'),
        charts: await page.evaluate(chartFindings, { chartSelector: '[data-chart]', scheme }),
        problems,
      }
      checkAll(expect, checks, `dashboard (${run} run, ${width.toLocaleString('en-US')} px, ${scheme})`)
    } finally {
      await close()
      release()
    }
  })
})

describe.concurrent('report', () => {
  test.for(combinations)('%s', async ([, { run, width, scheme }], { expect }) => {
    const release = await pageSlot()
    const { page, problems, close } = await openPage(width, scheme)
    try {
      await page.goto(pathToFileURL(fixtures[run].reportPath).href)
      await reportRendered(page)
      const checks = {
        overflow: await page.evaluate(overflowFindings, 'body'),
        charts: await page.evaluate(chartFindings, { chartSelector: '.chart', scheme }),
        problems,
      }
      checkAll(expect, checks, `report (${run} run, ${width.toLocaleString('en-US')} px, ${scheme})`)
    } finally {
      await close()
      release()
    }
  })
})

// A page built to fail every check, so a suite that passes has checked something: a chart wider than the
// viewport, text cut off at a chart's edge, a white chart with light text on a dark page, grey text on the
// dark page, a chart whose only mark is empty, a blank canvas and a console warning.
test('the checks find what they look for', async ({ expect }) => {
  const { page, problems, close } = await openPage(800, 'dark')
  try {
    await page.setContent(`<!doctype html><style>:root{color-scheme:light dark}body{margin:0;background:Canvas}</style>
      <div class="slp-dashboard">
        <div data-chart="wide" data-rows="3"><svg width="2000" height="100" style="background-color:white;display:block">
          <g class="mark-rect role-mark"><path d="M0,0h0v0h0Z"></path></g><text x="10" y="20" fill="#eeeeee">light label</text></svg></div>
        <div data-chart="grey" data-rows="3"><svg width="200" height="100" style="display:block">
          <g class="mark-line role-mark"><path d="M0,10L100,10" stroke="red"></path></g><text x="10" y="40" fill="#333333">grey label</text>
          <text x="150" y="80" fill="#ffffff">a subtitle too long for its chart</text></svg></div>
        <canvas data-chart="heat" data-rows="0" width="10" height="10"></canvas>
      </div>
      <script>console.warn('WARN Infinite extent for field "step": [Infinity, -Infinity]')</script>`)
    expect(await page.evaluate(overflowFindings, '.slp-dashboard')).toEqual([
      'the page scrolls sideways: scrollWidth 2,000 > clientWidth 800',
      '[data-chart="wide"] svg is 2,000 px wide at 800 px (left 0 px, right edge 2,000 px)',
      `[data-chart="grey"] svg text "a subtitle too long for its chart" is cut off at the svg's right edge (text reaches 343 px, the svg ends at 200 px)`,
    ])
    expect(await page.evaluate(chartFindings, { chartSelector: '[data-chart]', scheme: 'dark' as const })).toEqual([
      '[data-chart="wide"]: svg background-color is #ffffff (lightness 1.00) in dark mode',
      '[data-chart="wide"]: 1 svg text (e.g. "light label") filled #eeeeee (lightness 0.94) on #ffffff (lightness 1.00): difference 0.06 ≤ 0.4',
      '[data-chart="wide"]: no mark with a non-zero size (1 empty mark element in g.mark-*.role-mark)',
      '[data-chart="grey"]: 1 svg text (e.g. "grey label") filled #333333 (lightness 0.21) on #121212 (lightness 0.05): difference 0.16 ≤ 0.4',
      '[data-chart="heat"] canvas has data-rows 0',
      '[data-chart="heat"] canvas (10 × 10) has no painted pixel',
    ])
    expect(problems).toEqual(['console.warn: WARN Infinite extent for field "step": [Infinity, -Infinity]'])
  } finally {
    await close()
  }
})
