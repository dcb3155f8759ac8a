import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import { FLAGS_DOC, type Flag, type SampleRecord, type WireRecord } from '@sparselab-profiler/core'
import { CLI, PYTHON, REPO, launchChromium, run, tempDir } from '../support/env.js'
import { recordRealRun, toNdjson } from '../support/recordedRun.js'

let browser: Browser
/** A real 120-step run of the demo, for the tests that export a report of a log they edit. */
let recorded: WireRecord[]
beforeAll(async () => {
  ;[browser, recorded] = await Promise.all([launchChromium(), recordRealRun(120)])
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
  // The server shares the trainer's logdir, so the trainer's log is the run's one copy: no journal beside it.
  expect(readdirSync(`${workdir}/runs/${result.run}`).sort()).toEqual(['records.ndjson', 'report.html'])

  const records = readFileSync(`${workdir}/${result.run_log}`, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
  const runRecord = records[0]
  const samples = records.filter((r) => r.type === 'sample').length
  expect(runRecord.algorithm).toEqual({ name: 'RigL', params: { sparsity: 0.9, drop_fraction: 0.3, update_freq: 50 } })

  const { page, requested, errors, close } = await openOffline(reportPath)
  // the loss, sparsity, churn, updates and exploration; then per layer its histograms, distribution over time,
  // and for the rewired fc1 and fc2 (SparseLab layers, with masks) their churn, updates and exploration
  const ids = await page.locator('.chart').evaluateAll((charts) => charts.map((c) => c.id.replace('chart-', '')))
  const rewired = (i: number) => [`histogram-${i}`, `bands-${i}`, `churn-${i}`, `events-${i}`, `itop-${i}`, `mask-distance-${i}`, `regrowth-${i}`]
  expect(ids).toEqual(['scalar-loss', 'sparsity', 'churn', 'events', 'itop', 'mask-distance', ...[1, 2].flatMap(rewired), 'histogram-3', 'bands-3'])
  await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'))
  expect(await page.locator('#chart-sparsity .mark-line path').count()).toBe(3)
  // fc1's and fc2's lines and the whole model's; the dense head has no mask to explore
  expect(await page.locator('#chart-itop .mark-line path').count()).toBe(3)
  // steps 0, 10 and 20 (the sampler keeps its interval for three samples) and the last one at close; how far
  // the 1% budget widens the interval after that depends on the machine's load (x8 on a quiet one here)
  expect(samples).toBeGreaterThanOrEqual(4)
  expect(await page.locator('#chart-sparsity .mark-symbol.role-mark path').count()).toBe(3 * samples)
  expect(await page.locator('#chart-events .mark-rect path').count()).toBeGreaterThan(0)
  // first and last step side by side, 64 bins each
  for (const id of ['histogram-1', 'histogram-2', 'histogram-3']) expect(await page.locator(`#chart-${id} .mark-rect path`).count()).toBe(128)
  expect(requested).toEqual([pathToFileURL(reportPath).href])
  expect(errors).toEqual([])

  // The CSV link on the page yields every sample of every layer.
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-link').click()])
  const csv = readFileSync((await csvDownload.path())!, 'utf8').trim().split('\n')
  expect(csv[0]).toBe('step,layer,nnz,numel,sparsity,bytes,dense_bytes,nonfinite')
  expect(csv.slice(1)).toEqual(
    records.filter((r) => r.type === 'sample').flatMap((s) => s.layers.map((l: Record<string, unknown>) => [s.step, l.name, l.nnz, l.numel, l.sparsity, l.bytes, l.dense_bytes, l.nonfinite].join(','))),
  )
  await close()
})

test('a report of a run with a layer named like a script tag renders it as text and runs no script of it', async () => {
  const hostile = '</script><script>alert(1)</script>'
  const dir = tempDir('xss-report')
  writeFileSync(join(dir, 'records.ndjson'), toNdjson(JSON.parse(JSON.stringify(recorded).replaceAll('"fc1"', JSON.stringify(hostile)))))
  const exported = await run(CLI, ['export', dir, '-o', join(dir, 'report.html'), '--title', `<b>${hostile}</b>`]).done
  expect(exported.code).toBe(0)
  const { page, requested, errors, close } = await openOffline(join(dir, 'report.html'))
  let dialogs = 0
  page.on('dialog', (d) => {
    dialogs++
    void d.dismiss()
  })
  await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'))
  expect(await page.locator('h1').textContent()).toBe(`<b>${hostile}</b>`)
  expect(await page.locator('h3', { hasText: 'alert(1)' }).first().textContent()).toBe(hostile)
  expect(await page.locator('table td', { hasText: 'alert(1)' }).first().textContent()).toBe(hostile)
  expect(await page.locator('script').count()).toBe(5) // three libraries, the data block, the boot script
  expect(dialogs).toBe(0)
  expect(errors).toEqual([])
  expect(requested).toHaveLength(1)
  await close()
})

test('the Findings section comes first and lists each flag `check --json` finds in the same log, linked to its rule', async () => {
  // the real run with its middle sample as if fc2 had diverged there: 7 of its weights NaN, counted apart from
  // its histogram of finite values (as the dashboard's live flag test does); and the loss NaN (null on the
  // wire) in the window of the sample after it
  const samples = recorded.filter((r): r is SampleRecord => r.type === 'sample')
  const cause = samples[Math.floor(samples.length / 2)]!
  const next = samples[samples.indexOf(cause) + 1]!
  const nan = (l: SampleRecord['layers'][number]) => {
    const counts = [...l.hist.counts]
    counts[counts.indexOf(Math.max(...counts))]! -= 7
    return { ...l, nonfinite: 7, hist: { ...l.hist, counts } }
  }
  const diverged = recorded.map((r) => (r === cause ? { ...cause, layers: cause.layers.map((l) => (l.name === 'fc2' ? nan(l) : l)) } : r === next ? { ...next, scalars: { ...next.scalars, loss: null } } : r))
  const dir = tempDir('findings-report')
  writeFileSync(join(dir, 'records.ndjson'), toNdjson(diverged))
  const [checked, exported] = await Promise.all([run(CLI, ['check', dir, '--json']).done, run(CLI, ['export', dir, '-o', join(dir, 'report.html')]).done])
  expect(checked.code, checked.stderr).toBe(1) // a critical flag fails the check
  expect(exported.code, exported.stderr).toBe(0)
  const { flags } = JSON.parse(checked.stdout) as { flags: Flag[] }
  expect(flags.find((f) => f.rule === 'non-finite-weights')).toMatchObject({ severity: 'critical', layers: ['fc2'], from: cause.step })
  expect(flags.find((f) => f.rule === 'non-finite-loss')).toMatchObject({ severity: 'critical', from: next.step })

  const { page, errors, close } = await openOffline(join(dir, 'report.html'))
  // first: the findings before every other section of the report
  const sections = await page.locator('main > section').evaluateAll((all) => all.map((s) => ({ findings: s.hasAttribute('data-findings'), heading: s.querySelector('h2')?.textContent })))
  expect(sections[0]).toEqual({ findings: true, heading: 'Findings' })
  expect(sections.length).toBeGreaterThan(1)
  expect(sections.slice(1).filter((s) => s.findings)).toEqual([])
  // each flag the check found, in its order: severity, rule linked to its entry in docs/flags.md, where, what, the fix
  const shown = await page.locator('[data-findings] li.flag').evaluateAll((items) =>
    items.map((li) => ({ severity: li.querySelector('strong')!.textContent, rule: li.querySelector('a')!.textContent, href: li.querySelector('a')!.getAttribute('href'), text: li.textContent })),
  )
  const where = (f: Flag) => (f.from === f.to ? `step ${f.to.toLocaleString('en-US')}` : `steps ${f.from.toLocaleString('en-US')}–${f.to.toLocaleString('en-US')}`)
  expect(shown).toEqual(flags.map((f) => ({ severity: f.severity, rule: f.rule, href: `${FLAGS_DOC}#${f.rule}`, text: `${f.severity} ${f.rule} · ${where(f)}${f.message}Fix: ${f.fix}` })))
  // and each link's anchor is a heading of the flag reference
  const reference = readFileSync(join(REPO, 'docs', 'flags.md'), 'utf8')
  for (const f of flags) expect(reference, `docs/flags.md has no "## ${f.rule}"`).toMatch(new RegExp(`^## ${f.rule}$`, 'm'))
  expect(errors).toEqual([])
  await close()
})
