import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { CLI, PYTHON, run, tempDir } from '../support/env.js'
import { freePort } from '../support/freePort.js'

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

type Snapshot = {
  lastSeq: number
  samples: { seq: number }[]
  events: { seq: number }[]
  sampler: { seq: number }[]
  end: { seq: number; status: string } | null
}

/** The run as the server holds it once its end record arrived, and every seq it holds, sorted. */
async function endedRun(url: string, runId: string): Promise<{ snapshot: Snapshot; seqs: number[] }> {
  const snapshot = await waitFor(async () => {
    const s = (await (await fetch(`${url}/api/runs/${runId}`)).json()) as Snapshot
    return s.end ? s : undefined
  }, 'the end record after the restart', 20_000)
  const seqs = [0, ...[...snapshot.samples, ...snapshot.events, ...snapshot.sampler].map((r) => r.seq), snapshot.end!.seq]
  return { snapshot, seqs: seqs.sort((a, b) => a - b) }
}

test('a server killed and restarted mid-run ends with every seq of the run exactly once', async () => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const serve = () => run(CLI, ['serve', '--port', String(port), '--logdir', tempDir('server')])
  let server = serve()
  await waitFor(async () => ((await fetch(`${url}/api/runs`)).ok ? true : undefined), 'the server')

  const training = run(PYTHON, [
    '-m', 'sparselab_profiler.demo', '--server', url, '--logdir', tempDir('restart'), '--steps', '1200', '--step-delay', '0.01',
  ])
  const runId = await waitFor(async () => {
    const { runs } = (await (await fetch(`${url}/api/runs`)).json()) as { runs: { run: string; lastSeq: number }[] }
    return runs.find((r) => r.lastSeq >= 10)?.run
  }, 'the run to stream')

  server.child.kill('SIGKILL') // loses everything it held: serve() restarts it on a fresh logdir, so the sender alone makes the run whole
  await server.done
  await new Promise((r) => setTimeout(r, 1500))
  server = serve()

  const finished = await training.done
  expect(finished.code).toBe(0)
  expect(finished.stdout).toContain('cannot reach')
  const logged = readFileSync(JSON.parse(finished.stdout.trim().split('\n').at(-1)!).run_log, 'utf8').trim().split('\n')

  const { snapshot, seqs } = await endedRun(url, runId)
  expect(seqs).toEqual([...Array(logged.length).keys()])
  expect(snapshot.end!.status).toBe('finished')
  server.child.kill('SIGTERM')
  await server.done
})

type RunRow = { run: string; lastSeq: number }
const runsAt = async (url: string) => ((await (await fetch(`${url}/api/runs`)).json()) as { runs: RunRow[] }).runs
const ndjsonRecords = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .slice(0, -1) // what follows the last newline is a torn line at most
    .map((line) => JSON.parse(line) as { seq: number })

test('a server SIGKILLed mid-run loses nothing it acked: its journal restores the run, which ends with every seq exactly once', async () => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const logdir = tempDir('journal') // the server's own: the trainer logs elsewhere, so only the journal can restore the run
  const serve = (atPort: number) => run(CLI, ['serve', '--port', String(atPort), '--logdir', logdir])
  let server = serve(port)
  await waitFor(async () => ((await fetch(`${url}/api/runs`)).ok ? true : undefined), 'the server')

  const training = run(PYTHON, [
    '-m', 'sparselab_profiler.demo', '--server', url, '--logdir', tempDir('journal-trainer'), '--steps', '1200', '--step-delay', '0.01',
  ])
  const runId = await waitFor(async () => (await runsAt(url)).find((r) => r.lastSeq >= 10)?.run, 'the run to stream')
  const ackedBeforeKill = (await runsAt(url)).find((r) => r.run === runId)!.lastSeq
  server.child.kill('SIGKILL')
  await server.done

  const journal = join(logdir, runId, 'received.ndjson')
  const journaled = ndjsonRecords(journal).map((r) => r.seq)
  expect(journaled).toEqual([...Array(journaled.length).keys()])
  expect(journaled.length - 1).toBeGreaterThanOrEqual(ackedBeforeKill)

  // A server on a port the trainer does not know: what it holds comes from the journal alone, not from a resend.
  const probePort = await freePort()
  const probe = serve(probePort)
  const restored = await waitFor(async () => (await runsAt(`http://127.0.0.1:${probePort}`)).find((r) => r.run === runId), 'the restored run')
  expect(restored.lastSeq).toBeGreaterThanOrEqual(ackedBeforeKill)
  probe.child.kill('SIGTERM')
  await probe.done

  server = serve(port)
  const finished = await training.done
  expect(finished.code).toBe(0)
  const trainerRecords = ndjsonRecords(JSON.parse(finished.stdout.trim().split('\n').at(-1)!).run_log)
  const { snapshot, seqs } = await endedRun(url, runId)
  expect(seqs).toEqual([...Array(trainerRecords.length).keys()])
  // Every record once, in seq order, as the trainer wrote it (compared as JSON text, where -0 is 0).
  expect(ndjsonRecords(journal).map((r) => JSON.stringify(r))).toEqual(trainerRecords.map((r) => JSON.stringify(r)))
  expect(snapshot.end!.status).toBe('finished')
  server.child.kill('SIGTERM')
  await server.done
})

test("a server sharing the trainer's logdir journals nothing: SIGKILLed mid-run, it restores the run from the trainer's records.ndjson", async () => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const logdir = tempDir('shared') // as the demo and a server the callback starts have it
  const serve = () => run(CLI, ['serve', '--port', String(port), '--logdir', logdir])
  let server = serve()
  await waitFor(async () => ((await fetch(`${url}/api/runs`)).ok ? true : undefined), 'the server')

  const training = run(PYTHON, ['-m', 'sparselab_profiler.demo', '--server', url, '--logdir', logdir, '--steps', '1200', '--step-delay', '0.01'])
  const runId = await waitFor(async () => (await runsAt(url)).find((r) => r.lastSeq >= 10)?.run, 'the run to stream')
  const ackedBeforeKill = (await runsAt(url)).find((r) => r.run === runId)!.lastSeq
  server.child.kill('SIGKILL')
  await server.done
  const journal = join(logdir, runId, 'received.ndjson')
  expect(existsSync(journal)).toBe(false)

  server = serve()
  const restored = await waitFor(async () => (await runsAt(url)).find((r) => r.run === runId), 'the restored run')
  expect(restored.lastSeq).toBeGreaterThanOrEqual(ackedBeforeKill)
  const finished = await training.done
  expect(finished.code).toBe(0)
  const trainerRecords = ndjsonRecords(join(logdir, runId, 'records.ndjson'))
  const { snapshot, seqs } = await endedRun(url, runId)
  expect(seqs).toEqual([...Array(trainerRecords.length).keys()])
  expect(snapshot.end!.status).toBe('finished')
  expect(existsSync(journal)).toBe(false)
  server.child.kill('SIGTERM')
  await server.done
})

test('a killed training process leaves a complete run log and shows as interrupted', async () => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const server = run(CLI, ['serve', '--port', String(port), '--logdir', tempDir('server'), '--stale-after', '2'])
  await waitFor(async () => ((await fetch(`${url}/api/runs`)).ok ? true : undefined), 'the server')
  const logdir = tempDir('killed')
  const training = run(PYTHON, ['-m', 'sparselab_profiler.demo', '--server', url, '--logdir', logdir, '--steps', '5000', '--step-delay', '0.01'])
  const runId = await waitFor(async () => {
    const { runs } = (await (await fetch(`${url}/api/runs`)).json()) as { runs: { run: string; lastSeq: number; status: string }[] }
    return runs.find((r) => r.lastSeq >= 8 && r.status === 'live')?.run
  }, 'the run to stream')
  training.child.kill('SIGKILL')
  await training.done

  const text = readFileSync(`${logdir}/${runId}/records.ndjson`, 'utf8')
  const complete = text.slice(0, text.lastIndexOf('\n') + 1).trim().split('\n').map((line) => JSON.parse(line) as { seq: number; type: string })
  expect(complete.map((r) => r.seq)).toEqual([...Array(complete.length).keys()])
  expect(complete.some((r) => r.type === 'end')).toBe(false)
  expect(complete.filter((r) => r.type === 'sample').length).toBeGreaterThanOrEqual(2)

  const status = await waitFor(async () => {
    const s = (await (await fetch(`${url}/api/runs/${runId}`)).json()) as { status: string }
    return s.status === 'interrupted' ? s.status : undefined
  }, 'the run to show as interrupted', 15_000)
  expect(status).toBe('interrupted')
  server.child.kill('SIGTERM')
  await server.done
})
