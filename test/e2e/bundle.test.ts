import { copyFileSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { expect, test } from 'vitest'
import { BUNDLE, CLI, run, tempDir } from '../support/env.js'
import { logdirWith } from '../support/runFolders.js'
import { VALID_TEXT, VECTOR_RUN } from '../support/vectors.js'

// The one-file CLI runs from a folder holding nothing else, with no node_modules anywhere above it: whatever
// it serves or inlines it carries itself.
function isolatedBundle(): string {
  const path = join(tempDir('bundle'), 'sparselab-profiler.mjs')
  copyFileSync(BUNDLE, path)
  return path
}

/** A report with its one moment-dependent line fixed, so two exports compare byte for byte. */
function withoutTimestamp(html: string): string {
  const footer = /<footer>Generated <time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z">[^<]+<\/time> by /g
  expect(html.match(footer)).toHaveLength(1)
  return html.replace(footer, '<footer>Generated (time) by ')
}

test('the one-file CLI is about 2.0 MB (680 KB gzipped)', () => {
  const bytes = readFileSync(BUNDLE)
  expect(statSync(BUNDLE).size).toBeLessThan(2.2e6)
  expect(gzipSync(bytes).length).toBeLessThan(0.75e6)
})

test('the one-file CLI exports the same report as the npm CLI, byte for byte apart from the timestamp', async () => {
  const logdir = logdirWith({ [`${VECTOR_RUN}/records.ndjson`]: VALID_TEXT })
  const runDir = join(logdir, VECTOR_RUN)
  const out = tempDir('bundle-export')
  const [npm, bundle] = await Promise.all([
    run(CLI, ['export', runDir, '-o', join(out, 'npm.html'), '--title', 'Same <report>']).done,
    run(process.execPath, [isolatedBundle(), 'export', runDir, '-o', join(out, 'bundle.html'), '--title', 'Same <report>'], { cwd: out }).done,
  ])
  expect([npm.code, bundle.code]).toEqual([0, 0])
  expect(bundle.stderr).toBe(npm.stderr) // the progress lines
  const npmHtml = readFileSync(join(out, 'npm.html'), 'utf8')
  expect(npmHtml).toContain('<title>Same &lt;report&gt;</title>')
  expect(withoutTimestamp(readFileSync(join(out, 'bundle.html'), 'utf8'))).toBe(withoutTimestamp(npmHtml))
})

test('the one-file server serves the npm server’s dashboard and exports, and starts listening within a second', async () => {
  const logdir = logdirWith({ [`${VECTOR_RUN}/records.ndjson`]: VALID_TEXT })
  const start = async (command: string, args: string[]) => {
    const started = performance.now()
    const server = run(command, [...args, 'serve', '--port', '0', '--logdir', logdir], { cwd: tempDir('bundle-serve') })
    const url = await new Promise<string>((resolve, reject) => {
      server.child.stdout!.on('data', (chunk: Buffer) => {
        const match = /dashboard: (http:\S+)\//.exec(String(chunk))
        if (match) resolve(match[1]!)
      })
      void server.done.then((finished) => reject(new Error(`the server exited: ${finished.stderr}`)))
    })
    return { url, listeningMs: performance.now() - started, stop: () => (server.child.kill('SIGTERM'), server.done) }
  }
  const servers = [await start(CLI, []), await start(process.execPath, [isolatedBundle()])]
  try {
    const answers = await Promise.all(
      servers.map(async ({ url }) => {
        const exported = await fetch(`${url}/export`, { method: 'POST', body: JSON.stringify({ run: VECTOR_RUN }), headers: { 'Content-Type': 'application/json' } })
        expect(exported.status).toBe(200)
        const page = await (await fetch(`${url}/`)).text()
        const script = await (await fetch(`${url}/assets/dashboard.js`)).text()
        return { page, script, report: withoutTimestamp(await exported.text()) }
      }),
    )
    const npm = answers[0]!
    expect(npm.page).toContain('<script src="/assets/dashboard.js"></script>')
    expect(npm.script.length).toBeGreaterThan(500_000)
    expect(npm.report).toContain(`<dd>${VECTOR_RUN}</dd>`)
    expect(answers[1]).toEqual(npm)
    // 80 to 150 ms on a quiet machine; the bound only catches a start that reads or parses far more.
    expect(servers[1]!.listeningMs).toBeLessThan(1000)
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
  }
})
