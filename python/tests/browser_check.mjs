// What a dashboard and an exported report draw in Debian's Chromium, printed as one JSON line for
// test_wheel.py: `node browser_check.mjs <dashboard url with ?run=> <report.html>`. Uses the repository's
// playwright-core, as the e2e tests do (test/support/env.ts); never a downloaded browser.
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'

const [dashboardUrl, reportPath] = process.argv.slice(2)
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
})
const count = (page, selector) => page.locator(selector).count()
try {
  const page = await browser.newPage()
  const dashboardErrors = []
  page.on('pageerror', (error) => dashboardErrors.push(error.message))
  await page.goto(dashboardUrl)
  await page.waitForSelector('[data-status]:text("run finished")', { timeout: 30_000 })
  // Every sample of every layer is a point of the sparsity chart once it has drawn them all.
  await page.waitForFunction(() => {
    const chart = document.querySelector('[data-chart="sparsity"]')
    const rows = Number(chart?.getAttribute('data-rows'))
    return rows > 0 && chart.querySelectorAll('.mark-symbol.role-mark path').length === rows
  }, null, { timeout: 30_000 })
  await page.waitForSelector('[data-chart="histogram"] .mark-rect path', { state: 'attached', timeout: 30_000 })
  const dashboard = {
    status: await page.locator('[data-status]').textContent(),
    rows: Number(await page.locator('[data-chart="sparsity"]').getAttribute('data-rows')),
    points: await count(page, '[data-chart="sparsity"] .mark-symbol.role-mark path'),
    lines: await count(page, '[data-chart="sparsity"] .mark-line path'),
    histogramBars: await count(page, '[data-chart="histogram"] .mark-rect path'),
    errors: dashboardErrors,
  }

  // The report from file:// with every other request refused: it must need nothing but itself.
  const offline = await browser.newContext({ offline: true })
  await offline.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()))
  const report = await offline.newPage()
  const requested = []
  const reportErrors = []
  report.on('request', (request) => requested.push(request.url()))
  report.on('pageerror', (error) => reportErrors.push(error.message))
  await report.goto(pathToFileURL(reportPath).href)
  await report.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'), null, { timeout: 30_000 })
  console.log(JSON.stringify({
    dashboard,
    report: {
      charts: await count(report, '.chart'),
      lines: await count(report, '#chart-sparsity .mark-line path'),
      points: await count(report, '#chart-sparsity .mark-symbol.role-mark path'),
      requested,
      errors: reportErrors,
    },
  }))
} finally {
  await browser.close()
}
