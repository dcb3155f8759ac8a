import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { afterAll } from 'vitest'

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const PYTHON = join(REPO, '.venv', 'bin', 'python')
export const CLI = join(REPO, 'node_modules', '.bin', 'sparselab-profiler')
/** The one-file CLI the Python wheel ships (`npx turbo run build` makes it). */
export const BUNDLE = join(REPO, 'packages', 'sparselab-profiler', 'dist-bundle', 'sparselab-profiler.mjs')

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `slp-${prefix}-`))
}

/** Debian's chromium, headless, with the flags this machine needs; never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  })
}

export interface Finished {
  code: number
  stdout: string
  stderr: string
}

// Every process a test file started is killed when the file is done, even when a test failed half-way:
// no server or training may outlive the suite.
const running = new Set<ChildProcess>()
afterAll(() => {
  for (const child of running) child.kill('SIGKILL')
})

/** Spawns a process and collects its output; `done` resolves when it exits. `env` defaults to this process's. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: { ...(options.env ?? process.env), PYTHONUNBUFFERED: '1' } })
  running.add(child)
  child.on('exit', () => running.delete(child))
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const done = new Promise<Finished>((resolveDone) => child.on('close', (code) => resolveDone({ code: code ?? 1, stdout, stderr })))
  return { child, done }
}
