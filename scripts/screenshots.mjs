#!/usr/bin/env node
// Screenshots of the dashboard and the exported report of a real run, for reviewing layout and theme:
// trains the SparseLab demo (1,000 steps, one sample every 10, no server), serves its logdir with the built server, exports the
// report, and writes PNGs into docs/screenshots/ with Debian's chromium:
//   dashboard-light.png, dashboard-dark.png   1,280 px wide, the full page
//   dashboard-800.png                         800 px wide, light, the full page
//   report-light.png, report-dark.png         1,280 px wide, the first 2,400 px of the page
// Run after ./scripts/setup.sh: `node scripts/screenshots.mjs` (or `npm run screenshots`). Everything else it
// writes goes to a temporary folder that it removes; the server it starts is closed at the end, on failure too.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { startServer } from 'sparselab-profiler'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const PYTHON = join(REPO, '.venv', 'bin', 'python')
const OUT = join(REPO, 'docs', 'screenshots')
// a fixed interval: screenshots taken on a busy machine show the same samples as on a quiet one
const STEPS = 1000
const REPORT_HEIGHT = 2400

/** Runs a command to its end; resolves with its stdout, rejects with its stderr. */
function runToEnd(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr}`))))
  })
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(path) {
  const bytes = readFileSync(path)
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) }
}

/** Waits until every dashboard chart is drawn (a Vega svg with rows, the canvas heatmap with rows, or an empty-state text) and stayed so for 0.6 s. */
async function dashboardSettled(page) {
  const deadline = Date.now() + 60_000
  let last = ''
  let stableSince = Date.now()
  for (;;) {
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('[data-chart]')].map((el) => ({
        name: el.getAttribute('data-chart'),
        rows: Number(el.getAttribute('data-rows')),
        drawn: el.tagName === 'CANVAS' || !!el.querySelector('svg'),
        text: el.tagName === 'CANVAS' || el.querySelector('svg') ? '' : (el.textContent ?? '').trim(),
      })),
    )
    const state = JSON.stringify(charts)
    if (state !== last) [last, stableSince] = [state, Date.now()]
    const drawn = (name) => charts.some((c) => c.name === name && c.drawn && c.rows > 0)
    const ready = drawn('sparsity') && drawn('histogram') && charts.every((c) => (c.drawn && c.rows > 0) || c.text !== '')
    if (ready && Date.now() - stableSince >= 600) break
    if (Date.now() > deadline) throw new Error(`the dashboard's charts did not settle within 60 s: ${state}`)
    await page.waitForTimeout(200)
  }
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

async function reportRendered(page) {
  await page.waitForFunction(
    () => document.querySelectorAll('.chart').length > 0 && [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'),
    undefined,
    { timeout: 60_000, polling: 100 },
  )
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

const work = mkdtempSync(join(tmpdir(), 'slp-screenshots-'))
let server
let browser
try {
  console.log(`training the SparseLab demo (${STEPS} steps) …`)
  const logdir = join(work, 'runs')
  const stdout = await runToEnd(PYTHON, ['-m', 'sparselab_profiler.demo', '--server', 'none', '--logdir', logdir, '--steps', String(STEPS), '--overhead-budget', 'none'])
  const { run } = JSON.parse(stdout.trim().split('\n').at(-1))

  // The server restores the run from the trainer's log, as `sparselab-profiler serve --logdir` does.
  server = await startServer({ port: 0, logdir })
  const exported = await fetch(`${server.url}/export`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ run }) })
  if (exported.status !== 200) throw new Error(`POST /export answered ${exported.status}: ${await exported.text()}`)
  const reportPath = join(work, 'report.html')
  writeFileSync(reportPath, await exported.text())

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  })
  mkdirSync(OUT, { recursive: true })
  const shots = [
    { file: 'dashboard-light.png', page: 'dashboard', width: 1280, scheme: 'light' },
    { file: 'dashboard-dark.png', page: 'dashboard', width: 1280, scheme: 'dark' },
    { file: 'dashboard-800.png', page: 'dashboard', width: 800, scheme: 'light' },
    { file: 'report-light.png', page: 'report', width: 1280, scheme: 'light' },
    { file: 'report-dark.png', page: 'report', width: 1280, scheme: 'dark' },
  ]
  for (const shot of shots) {
    const context = await browser.newContext({ viewport: { width: shot.width, height: 900 }, colorScheme: shot.scheme })
    const page = await context.newPage()
    const path = join(OUT, shot.file)
    if (shot.page === 'dashboard') {
      await page.goto(`${server.url}/?run=${encodeURIComponent(run)}`)
      await dashboardSettled(page)
      await page.screenshot({ path, fullPage: true })
    } else {
      await page.goto(pathToFileURL(reportPath).href)
      await reportRendered(page)
      const height = await page.evaluate(() => document.documentElement.scrollHeight)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width, height: Math.min(REPORT_HEIGHT, height) } })
    }
    await context.close()
    const { width, height } = pngSize(path)
    console.log(`${relative(REPO, path)}  ${width} × ${height} px  ${(statSync(path).size / 1024).toFixed(0)} KiB`)
  }
} finally {
  await browser?.close()
  await server?.close()
  rmSync(work, { recursive: true, force: true })
}
