import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { startedByNpm, untilStopped, type StopHost } from './untilStopped.js'

/** A process whose parent can die: `kill(pid, 0)` throws ESRCH for a pid in `dead`. */
function fakeHost(env: Record<string, string>, ppid = 4242) {
  const events = new EventEmitter()
  const dead = new Set<number>()
  const host = {
    env,
    ppid,
    once: (signal: string, listener: () => void) => events.once(signal, listener),
    removeListener: (signal: string, listener: () => void) => events.removeListener(signal, listener),
    kill: (pid: number) => {
      if (dead.has(pid)) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' })
      return true
    },
  }
  return { host: host as unknown as StopHost & { ppid: number }, events, dead }
}

const NPX = { npm_lifecycle_event: 'npx', npm_lifecycle_script: "'sparselab-profiler' serve --port 0" }

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

test.each(['SIGINT', 'SIGTERM'] as const)('%s stops it and leaves no listener behind', async (signal) => {
  const { host, events } = fakeHost({})
  const stopped = untilStopped({ host })
  expect(events.listenerCount('SIGINT') + events.listenerCount('SIGTERM')).toBe(2)
  events.emit(signal)
  await expect(stopped).resolves.toBe(signal)
  // A second Ctrl-C while the server closes meets Node's default handler and ends the process at once.
  expect(events.listenerCount('SIGINT') + events.listenerCount('SIGTERM')).toBe(0)
})

test('under npx it stops within one poll of its parent shell being reparented away', async () => {
  const { host } = fakeHost(NPX)
  let reason: string | undefined
  void untilStopped({ host, pollMs: 500 }).then((r) => (reason = r))
  await vi.advanceTimersByTimeAsync(5_000)
  expect(reason).toBeUndefined()
  host.ppid = 1
  await vi.advanceTimersByTimeAsync(500)
  expect(reason).toBe('npm exited')
  expect(vi.getTimerCount()).toBe(0)
})

test('under npx it stops once its parent is gone even where the parent pid stays (Windows)', async () => {
  const { host, dead } = fakeHost(NPX)
  let reason: string | undefined
  void untilStopped({ host, pollMs: 500 }).then((r) => (reason = r))
  dead.add(4242)
  await vi.advanceTimersByTimeAsync(500)
  expect(reason).toBe('npm exited')
})

test('started detached or by hand, it outlives its parent and waits for a signal', async () => {
  const { host, events } = fakeHost({ npm_lifecycle_event: 'npx', npm_lifecycle_script: 'vitest run --project e2e' })
  let reason: string | undefined
  const stopped = untilStopped({ host, pollMs: 500 }).then((r) => (reason = r))
  expect(vi.getTimerCount()).toBe(0)
  host.ppid = 1
  await vi.advanceTimersByTimeAsync(5_000)
  expect(reason).toBeUndefined()
  events.emit('SIGTERM')
  await stopped
  expect(reason).toBe('SIGTERM')
})

test('recognises npm running this CLI and nothing else', () => {
  const started = (script?: string) => startedByNpm(script === undefined ? {} : { npm_lifecycle_script: script })
  expect(started("'sparselab-profiler' serve --port 0")).toBe(true) // npx sparselab-profiler serve
  expect(started('sparselab-profiler serve --logdir runs')).toBe(true) // an npm script
  expect(started('sparselab-profiler')).toBe(true)
  expect(started('./node_modules/.bin/sparselab-profiler serve')).toBe(true)
  expect(started('"C:\\x\\node_modules\\.bin\\sparselab-profiler" serve')).toBe(true)
  expect(started(undefined)).toBe(false)
  expect(started('vitest run')).toBe(false) // a test run whose Python starts a detached server
  expect(started('python train.py sparselab-profiler')).toBe(false)
  expect(started('sparselab-profiler-other serve')).toBe(false)
})
