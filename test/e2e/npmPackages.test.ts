/**
 * The npm packages as a user gets them: every workspace package packed with `npm pack`, the tarballs
 * installed into an empty folder outside the repository, and the CLI run there through `npx`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import { REPO, launchChromium, run, tempDir } from '../support/env.js'
import { VECTOR_RUN } from '../support/vectors.js'

/** Each publishable package's folder under packages/, in the order npm packs them. */
const PACKAGES = ['core', 'runlog', 'export', 'server-hono', 'dashboard-preact', 'wandb-adapter', 'sparselab-profiler']
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc')
const LICENSE = readFileSync(join(REPO, 'LICENSE'), 'utf8')

// npm run from this suite must see the empty folder as its project, not the workspace that started vitest
// (`npx vitest` exports npm_config_local_prefix and the like).
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')))

let host: string
let logdir: string
let browser: Browser
const packed: { name: string; filename: string; size: number; unpackedSize: number }[] = []

beforeAll(async () => {
  const root = tempDir('npm-packages')
  const tarballs = join(root, 'tarballs')
  mkdirSync(tarballs)
  const pack = await run('npm', ['pack', ...PACKAGES.flatMap((dir) => ['--workspace', `packages/${dir}`]), '--pack-destination', tarballs, '--json'], { env: npmEnv }).done
  if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`)
  packed.push(...(JSON.parse(pack.stdout) as typeof packed))

  host = join(root, 'host')
  mkdirSync(host)
  writeFileSync(join(host, 'package.json'), JSON.stringify({ name: 'host', private: true, type: 'module' }))
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packed.map((p) => join(tarballs, p.filename))], { cwd: host, env: npmEnv }).done
  if (install.code !== 0) throw new Error(`npm install of the tarballs failed: ${install.stderr}`)

  logdir = join(root, 'runs')
  mkdirSync(join(logdir, VECTOR_RUN), { recursive: true })
  cpSync(join(REPO, 'test', 'vectors', 'valid.ndjson'), join(logdir, VECTOR_RUN, 'records.ndjson'))
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  // A server left behind by a failed test (its npx killed) is found by its unique logdir and stopped.
  for (const pid of serversOf(logdir ?? '/nonexistent')) process.kill(pid, 'SIGKILL')
  console.log(`tarballs: ${packed.map((p) => `${p.filename} ${p.size} B (unpacked ${p.unpackedSize} B)`).join(', ')}`)
})

/** Pids of the live processes whose command line names `folder`. */
function serversOf(folder: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, stat, ...args]) => pid && !stat?.startsWith('Z') && args.join(' ').includes(folder) && Number(pid) !== process.pid)
    .map(([pid]) => Number(pid))
}

function firstLine(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (chunk: string) => {
      text += chunk
      const match = pattern.exec(text)
      if (match) resolve(match)
    })
    child.on('exit', (code) => reject(new Error(`exited with ${code} before printing ${pattern}: ${text}`)))
  })
}

const answers = (url: string) => fetch(url).then(() => true, () => false)

test('every tarball carries the MIT LICENSE and a manifest fit to publish', () => {
  expect(packed.map((p) => p.name)).toEqual(PACKAGES.map((dir) => (dir === 'sparselab-profiler' ? dir : `@sparselab-profiler/${dir}`)))
  const repositories = new Set<string>()
  for (const { name } of packed) {
    const folder = join(host, 'node_modules', name)
    const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'))
    expect(readFileSync(join(folder, 'LICENSE'), 'utf8')).toBe(LICENSE)
    expect(manifest.license).toBe('MIT')
    expect(manifest.engines).toEqual({ node: '>=20' })
    expect(manifest.repository.directory).toBe(`packages/${name.replace('@sparselab-profiler/', '')}`)
    repositories.add(manifest.repository.url)
    expect(manifest.homepage).toBe(`${manifest.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/tree/main/${manifest.repository.directory}#readme`)
    expect(manifest.sideEffects).toEqual(name.endsWith('dashboard-preact') ? ['./dist/browser.global.js'] : false)
    // node10 resolution reads main and types; every export names types and a default, and all exist.
    expect(existsSync(join(folder, manifest.main)) && existsSync(join(folder, manifest.types))).toBe(true)
    for (const [subpath, target] of Object.entries(manifest.exports as Record<string, string | Record<string, string>>)) {
      if (typeof target === 'string') expect(existsSync(join(folder, target)), `${name} ${subpath}`).toBe(true)
      else {
        expect(Object.keys(target), `${name} ${subpath}`).toEqual(['types', 'default'])
        for (const file of Object.values(target)) expect(existsSync(join(folder, file)), `${name} ${subpath} ${file}`).toBe(true)
      }
    }
  }
  expect(repositories.size).toBe(1)
  // The CLI serves the dashboard's prebuilt script, which has preact inside: it needs no preact of its own.
  const cli = JSON.parse(readFileSync(join(host, 'node_modules', 'sparselab-profiler', 'package.json'), 'utf8'))
  expect(Object.keys(cli.dependencies)).not.toContain('preact')
})

test('npx sparselab-profiler serve answers with the dashboard, which draws a run, and SIGTERM to npx stops it', async () => {
  const serve = run('npx', ['sparselab-profiler', 'serve', '--port', '0', '--logdir', logdir], { cwd: host, env: npmEnv })
  const [, url] = await firstLine(serve.child, /SparseLab Profiler dashboard: (http:\/\/127\.0\.0\.1:\d+)\//)
  const page = await fetch(`${url}/`)
  expect(page.status).toBe(200)
  expect(await page.text()).toContain('<script src="/assets/dashboard.js"></script>')
  const script = await fetch(`${url}/assets/dashboard.js`)
  expect(await script.text()).toBe(readFileSync(join(host, 'node_modules/@sparselab-profiler/dashboard-preact/dist/browser.global.js'), 'utf8'))

  const tab = await browser.newPage()
  const errors: string[] = []
  tab.on('pageerror', (error) => errors.push(error.message))
  await tab.goto(`${url}/`)
  // The newest run is the vector run: two layers sampled at steps 0 and 100, one point per layer per sample.
  await tab.waitForFunction(() => document.querySelector('[data-chart="sparsity"]')?.getAttribute('data-rows') === '4', undefined, { timeout: 30_000 })
  expect(await tab.locator('[data-chart="sparsity"] .mark-symbol.role-mark path').count()).toBe(4)
  expect(await tab.locator('[data-status]').textContent()).toBe('run finished')
  expect(errors).toEqual([])
  await tab.close()

  expect(serversOf(logdir).length).toBeGreaterThanOrEqual(2) // npx, and the node server under its shell
  // npx alone, as a supervisor does: npm passes it to its shell, which dies without passing it on.
  const exited = new Promise((resolve) => serve.child.on('exit', resolve))
  serve.child.kill('SIGTERM')
  await exited
  await expect.poll(() => answers(url!), { timeout: 5_000 }).toBe(false)
  await expect.poll(() => serversOf(logdir), { timeout: 5_000 }).toEqual([])
})

test('Ctrl-C in a terminal (SIGINT to the whole process group) stops npx and the server', async () => {
  // SIGINT to the npx pid alone reaches npm's shell, which (dash) holds it until its child exits, so
  // nothing stops: a terminal signals the foreground group, and a supervisor sends SIGTERM (above).
  const serve = spawn('npx', ['sparselab-profiler', 'serve', '--port', '0', '--logdir', logdir], { cwd: host, env: npmEnv, detached: true })
  serve.stdout.setEncoding('utf8')
  const exited = new Promise((resolve) => serve.on('exit', (code, signal) => resolve({ code, signal })))
  const [, url] = await firstLine(serve, /SparseLab Profiler dashboard: (http:\/\/127\.0\.0\.1:\d+)\//)
  expect(await answers(url!)).toBe(true)
  process.kill(-serve.pid!, 'SIGINT')
  // The server closes and exits 0; the shell then ends by the SIGINT it held, and npm re-raises it on itself
  // (status 130 in a terminal), as an interrupted command should.
  expect(await exited).toEqual({ code: null, signal: 'SIGINT' })
  expect(await answers(url!)).toBe(false)
  expect(serversOf(logdir)).toEqual([])
})

test('npx sparselab-profiler export writes a report that renders offline with every chart drawn', async () => {
  const report = join(host, 'report.html')
  const exported = await run('npx', ['sparselab-profiler', 'export', join(logdir, VECTOR_RUN), '-o', report], { cwd: host, env: npmEnv }).done
  expect(exported.code).toBe(0)
  expect(exported.stdout).toMatch(new RegExp(`^Report written: ${report} \\(\\d+ KiB\\)`))

  const context = await browser.newContext({ offline: true })
  const requested: string[] = []
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()))
  const tab = await context.newPage()
  tab.on('request', (request) => requested.push(request.url()))
  const errors: string[] = []
  tab.on('pageerror', (error) => errors.push(error.message))
  await tab.goto(pathToFileURL(report).href)
  await tab.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'))
  // sparsity, topology updates, and the histograms of fc1 and head among them
  const ids = await tab.locator('.chart').evaluateAll((charts) => charts.map((c) => c.id))
  expect(ids).toEqual(expect.arrayContaining(['chart-sparsity', 'chart-events', 'chart-histogram-1', 'chart-histogram-2']))
  expect(await tab.locator('#chart-sparsity .mark-line path').count()).toBe(2)
  expect(await tab.locator('#chart-sparsity .mark-symbol.role-mark path').count()).toBe(4)
  expect(await tab.locator('#chart-events .mark-rect path').count()).toBeGreaterThan(0)
  // first and last sample side by side, 4 bins each
  for (const id of ['histogram-1', 'histogram-2']) expect(await tab.locator(`#chart-${id} .mark-rect path`).count()).toBe(8)
  expect(requested).toEqual([pathToFileURL(report).href])
  expect(errors).toEqual([])
  await context.close()
})

test('a TypeScript page importing the dashboard and core compiles under moduleResolution bundler, nodenext and node10', async () => {
  writeFileSync(
    join(host, 'host.tsx'),
    `// A page that embeds the live dashboard, written against the published packages.
import { render } from 'preact'
import { Dashboard, mount, runsClient, type DashboardProps, type RunsClient } from '@sparselab-profiler/dashboard-preact'
import { mount as mountEmbedded } from '@sparselab-profiler/dashboard-preact/embed'
import { RunStore, validateRecord, type RunSnapshot } from '@sparselab-profiler/core'

const props: DashboardProps = { url: 'http://127.0.0.1:8080', run: 'r1' }
render(<Dashboard {...props} />, document.body)
export const unmount: () => void = mount(document.body, props)
export const unmountEmbedded: () => void = mountEmbedded(document.body, { url: '' })
export const client: RunsClient = runsClient({ url: props.url })
export const snapshot: RunSnapshot | undefined = new RunStore().snapshot('r1')
export const valid: boolean = validateRecord({ type: 'end' }).ok
// @ts-expect-error url is a string: the declarations are the real ones, not any
mount(document.body, { url: 8080 })
`,
  )
  const settings = { bundler: ['ESNext', 'Bundler'], nodenext: ['NodeNext', 'NodeNext'], node10: ['ESNext', 'Node10'] }
  const results = await Promise.all(
    Object.entries(settings).map(([name, [module, moduleResolution]]) => {
      const compilerOptions = {
        strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        module, moduleResolution, jsx: 'react-jsx', jsxImportSource: 'preact', types: [],
      }
      writeFileSync(join(host, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions, files: ['host.tsx'] }))
      return run(process.execPath, [TSC, '-p', `tsconfig.${name}.json`], { cwd: host }).done.then((done) => ({ name, ...done }))
    }),
  )
  expect(results.map(({ name, code, stdout }) => ({ name, code, stdout }))).toEqual(Object.keys(settings).map((name) => ({ name, code: 0, stdout: '' })))
})
