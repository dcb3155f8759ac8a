import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, test, type ExpectStatic } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { RunRecord, WireRecord } from '@sparselab-profiler/core'
import { startServer, type RunningServer } from 'sparselab-profiler'
import { launchChromium, tempDir } from '../support/env.js'
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

// ---------------------------------------------------------------------------------------------------------
// The four checks, shared by the dashboard and the report. Each returns a list of findings, [] when all is well.

/**
 * (a) Page-level horizontal scroll, the outermost elements in `root` whose visible right edge passes the viewport,
 * and chart text cut off at its svg's edge.
 */
function overflowFindings(rootSelector: string): string[] {
  const html = document.documentElement
  const limit = html.clientWidth
  const findings: string[] = []
  if (html.scrollWidth > limit) findings.push(`the page scrolls sideways: scrollWidth ${html.scrollWidth.toLocaleString('en-US')} > clientWidth ${limit.toLocaleString('en-US')}`)
  const root = document.querySelector(rootSelector)
  if (!root) return [...findings, `no ${rootSelector} on the page`]
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} px`
  const describe = (el: Element): string => {
    const own = (e: Element) => {
      const classes = [...e.classList].filter((c) => !/^(role|mark)-/.test(c) || e.tagName.toLowerCase() === 'g').slice(0, 2)
      return e.tagName.toLowerCase() + classes.map((c) => `.${c}`).join('')
    }
    const anchor = el.closest('[data-chart],[id]')
    const anchorText = anchor
      ? anchor.hasAttribute('data-chart')
        ? `[data-chart="${anchor.getAttribute('data-chart')}"]`
        : `#${anchor.id}`
      : ''
    if (anchor === el) return anchorText
    const chain: string[] = []
    for (let e: Element | null = el; e && e !== anchor && e !== root.parentElement && chain.length < 3; e = e.parentElement) chain.unshift(own(e))
    return [anchorText, chain.join(' > ')].filter(Boolean).join(' ')
  }
  // the right edge an element shows: clipped by every ancestor that does not let overflow show
  const visibleRight = (el: Element): number => {
    let right = el.getBoundingClientRect().right
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (a === html || a === document.body) break
      if (getComputedStyle(a).overflowX !== 'visible') right = Math.min(right, a.getBoundingClientRect().right)
    }
    return right
  }
  const offenders = new Set<Element>()
  for (const el of root.querySelectorAll('*')) {
    // what is inside an svg cannot show outside it (an inline svg clips its content): the svg itself is measured
    if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue
    const box = el.getBoundingClientRect()
    if (box.width === 0 && box.height === 0) continue
    if (visibleRight(el) > limit + 0.5) offenders.add(el)
  }
  for (const el of offenders) {
    if (el.parentElement && offenders.has(el.parentElement)) continue // its parent is reported
    const box = el.getBoundingClientRect()
    findings.push(`${describe(el)} is ${fmt(box.width)} wide at ${fmt(limit)} (left ${fmt(box.left)}, right edge ${fmt(box.right)})`)
  }
  // Text that runs past its chart's edge is cut off there (an inline svg clips its content): a title or label
  // wider than the chart, which a page-level check cannot see.
  for (const svg of root.querySelectorAll('svg')) {
    const frame = svg.getBoundingClientRect()
    for (const text of svg.querySelectorAll('text')) {
      const content = text.textContent?.trim()
      const style = getComputedStyle(text)
      if (!content || style.visibility === 'hidden' || Number(style.opacity) === 0 || Number(style.fillOpacity) === 0) continue
      const box = text.getBoundingClientRect()
      if (box.width === 0) continue
      const past = box.right > frame.right + 1 ? 'right' : box.left < frame.left - 1 ? 'left' : box.bottom > frame.bottom + 1 ? 'bottom' : box.top < frame.top - 1 ? 'top' : null
      if (!past) continue
      const [edge, at] = past === 'right' || past === 'left' ? [past === 'right' ? frame.right : frame.left, past === 'right' ? box.right : box.left] : [past === 'bottom' ? frame.bottom : frame.top, past === 'bottom' ? box.bottom : box.top]
      findings.push(`${describe(svg)} text "${content.slice(0, 60)}" is cut off at the svg's ${past} edge (text reaches ${fmt(at)}, the svg ends at ${fmt(edge)})`)
    }
  }
  return findings
}

/**
 * (b) and (c) for every Vega chart (an `svg` inside each element matching `chartSelector`), and (c) for a canvas
 * heatmap. Lightness is CIE L* / 100 (perceptual, 0 black … 1 white): a background is "light" at ≥ 0.5, and
 * text must differ from its background by more than 0.4.
 */
function chartFindings({ chartSelector, scheme }: { chartSelector: string; scheme: 'light' | 'dark' }): string[] {
  const findings: string[] = []
  type Rgba = [number, number, number, number]
  const parse = (color: string): Rgba | null => {
    const m = /^rgba?\(([\d.]+),?\s*([\d.]+),?\s*([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\)$/.exec(color.trim())
    if (!m) return null
    const alpha = m[4] === undefined ? 1 : m[4].endsWith('%') ? Number(m[4].slice(0, -1)) / 100 : Number(m[4])
    return [Number(m[1]), Number(m[2]), Number(m[3]), alpha]
  }
  const over = (top: Rgba, below: Rgba): Rgba => {
    const a = top[3] + below[3] * (1 - top[3])
    if (a === 0) return [0, 0, 0, 0]
    return [0, 1, 2].map((k) => (top[k]! * top[3] + below[k]! * below[3] * (1 - top[3])) / a).concat(a) as Rgba
  }
  const lightness = ([r, g, b]: Rgba) => {
    const lin = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    const y = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return (y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y) / 100
  }
  const hex = ([r, g, b]: Rgba) => `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`
  // What shows behind `el`: the backgrounds of its ancestors composited down to the canvas (the page's
  // `Canvas` colour in its colour scheme, which is what an unpainted root shows).
  const behind = (el: Element): Rgba => {
    const layers: Rgba[] = []
    for (let a: Element | null = el; a; a = a.parentElement) {
      const color = parse(getComputedStyle(a).backgroundColor)
      if (color && color[3] > 0) layers.push(color)
      if (color && color[3] >= 1) break
    }
    const probe = document.createElement('div')
    probe.style.cssText = 'background:Canvas;position:absolute;width:0;height:0'
    document.documentElement.appendChild(probe)
    let base = parse(getComputedStyle(probe).backgroundColor) ?? [255, 255, 255, 1]
    probe.remove()
    for (const layer of layers.reverse()) base = over(layer, base)
    return base
  }
  const charts = [...document.querySelectorAll(chartSelector)]
  if (charts.length === 0) findings.push(`no chart matches ${chartSelector}`)
  for (const chart of charts) {
    const name = chart.hasAttribute('data-chart') ? `[data-chart="${chart.getAttribute('data-chart')}"]` : `#${chart.id}`
    if (chart instanceof HTMLCanvasElement) {
      const rows = Number(chart.getAttribute('data-rows'))
      if (!(rows > 0)) findings.push(`${name} canvas has data-rows ${chart.getAttribute('data-rows')}`)
      const { width, height } = chart
      const data = width && height ? chart.getContext('2d')!.getImageData(0, 0, width, height).data : new Uint8ClampedArray()
      let painted = 0
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++
      if (painted === 0) findings.push(`${name} canvas (${width} × ${height}) has no painted pixel`)
      continue
    }
    const svg = chart.querySelector('svg')
    if (!svg) {
      const text = chart.textContent?.trim()
      findings.push(text ? `${name} draws no chart, only the text "${text.slice(0, 80)}"` : `${name} has no svg`)
      continue
    }
    // (b) background: Vega's own (a rect.background, or the svg's background-color, which Vega 6 sets when the
    // spec configures one), composited over what the page shows behind the chart
    const rect = svg.querySelector('rect.background')
    const rectFill = rect ? parse(getComputedStyle(rect).fill) : null
    const svgFill = parse(getComputedStyle(svg).backgroundColor)
    const underlying = behind(svg.parentElement!)
    let background = underlying
    let source = 'page background behind the chart'
    if (svgFill && svgFill[3] > 0) [background, source] = [over(svgFill, background), 'svg background-color']
    if (rectFill && rectFill[3] > 0) [background, source] = [over(rectFill, background), 'rect.background fill']
    const bgL = lightness(background)
    if (scheme === 'dark' && bgL >= 0.5) findings.push(`${name}: ${source} is ${hex(background)} (lightness ${bgL.toFixed(2)}) in dark mode`)
    if (scheme === 'light' && bgL < 0.5) findings.push(`${name}: ${source} is ${hex(background)} (lightness ${bgL.toFixed(2)}) in light mode`)
    // one finding per unreadable colour, with how many texts use it and one of them
    const poor = new Map<string, { count: number; example: string; lightness: number }>()
    for (const text of svg.querySelectorAll('text')) {
      const content = text.textContent?.trim()
      const style = getComputedStyle(text)
      if (!content || text.getBBox().width === 0 || style.visibility === 'hidden' || Number(style.opacity) === 0 || Number(style.fillOpacity) === 0) continue
      const fill = parse(style.fill)
      if (!fill) continue
      const textL = lightness(over(fill, background))
      if (Math.abs(textL - bgL) > 0.4) continue
      const key = hex(fill)
      const seen = poor.get(key) ?? { count: 0, example: content.slice(0, 40), lightness: textL }
      seen.count++
      poor.set(key, seen)
    }
    for (const [color, { count, example, lightness: textL }] of poor) {
      findings.push(
        `${name}: ${count} svg text${count === 1 ? '' : 's'} (e.g. "${example}") filled ${color} (lightness ${textL.toFixed(2)}) on ${hex(background)} (lightness ${bgL.toFixed(2)}): difference ${Math.abs(textL - bgL).toFixed(2)} ≤ 0.4`,
      )
    }
    // (c) marks: data marks (role-mark groups) with a visible extent
    let marks = 0
    let empty = 0
    for (const group of svg.querySelectorAll('g[class*="mark-"].role-mark')) {
      const line = /\bmark-(line|rule|trail)\b/.test(group.getAttribute('class') ?? '')
      for (const item of group.querySelectorAll(':scope > path, :scope > rect, :scope > line')) {
        const box = (item as SVGGraphicsElement).getBBox()
        if (line ? box.width > 0 || box.height > 0 : box.width > 0 && box.height > 0) marks++
        else empty++
        if (marks) break
      }
      if (marks) break
    }
    if (marks === 0) findings.push(`${name}: no mark with a non-zero size (${empty} empty mark element${empty === 1 ? '' : 's'} in g.mark-*.role-mark)`)
  }
  return findings
}

/** Findings as message lines: at most 20, then how many more (the assertion's diff lists them all). */
function lines(findings: string[]): string {
  const shown = findings.slice(0, 20)
  if (findings.length > shown.length) shown.push(`… and ${findings.length - shown.length} more`)
  return shown.map((line) => `\n  ${line}`).join('')
}

function checkAll(expect: ExpectStatic, checks: { overflow: string[]; charts: string[]; problems: string[] }, where: string) {
  expect.soft(checks.overflow, `(a) horizontal overflow and cut-off chart text on the ${where}:${lines(checks.overflow)}`).toEqual([])
  expect.soft(checks.charts, `(b, c) chart theme and marks on the ${where}:${lines(checks.charts)}`).toEqual([])
  expect.soft(checks.problems, `(d) console warnings/errors and page errors on the ${where}:${lines(checks.problems)}`).toEqual([])
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
