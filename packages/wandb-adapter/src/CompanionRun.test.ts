import { afterEach, describe, expect, test } from 'vitest'
import { RunStore, evaluateFlags, type WireRecord } from '@sparselab-profiler/core'
import { startFakeWandb, type FakeWandb } from '../../../test/support/fakeWandb.js'
import { wandbVectors } from '../../../test/support/vectors.js'
import { CompanionRun, type CompanionRunOptions } from './CompanionRun.js'
import { forwardStore } from './forwardStore.js'
import { WandbApi } from './WandbApi.js'
import { alertText, alertTitle, restAlert } from './flagAlert.js'
import { freePort } from '../../../test/support/freePort.js'

const [VECTOR] = wandbVectors()
const RECORDS = VECTOR!.records as WireRecord[]
const RUN = RECORDS[0]!.run
/** The vector's rows as the run's history holds them: W&B's own keys added, which the comparison drops. */
const history = (rows: Record<string, unknown>[]) => rows.map(({ _step, _runtime, _timestamp, ...row }) => row)

let fakes: FakeWandb[] = []
afterEach(async () => {
  await Promise.all(fakes.map((fake) => fake.close()))
  fakes = []
})

async function fake(port?: number): Promise<FakeWandb> {
  const started = await startFakeWandb({ port })
  fakes.push(started)
  return started
}

/** Fast waits: the rate limit and back-off are the production ones scaled down. */
function companion(fake: { url: string; apiKey: string }, options: Partial<CompanionRunOptions> = {}) {
  const warnings: string[] = []
  const run = new CompanionRun({
    api: new WandbApi({ baseUrl: fake.url, apiKey: fake.apiKey, timeoutMs: 2_000 }),
    project: 'sparse',
    minIntervalMs: 5,
    backoffMs: 20,
    maxBackoffMs: 100,
    warn: (message) => warnings.push(message),
    ...options,
  })
  return { run, warnings }
}

describe('a companion run', () => {
  test('holds the vector rows in order, the run config, a summary, alerts for critical flags, its files and the end', async () => {
    const wandb = await fake()
    const { run, warnings } = companion(wandb, { group: 'digits', finalFiles: async () => [{ name: 'records.ndjson', bytes: Buffer.from('log') }] })
    for (const record of RECORDS) run.add(record)
    await run.finished
    expect(run.state()).toMatchObject({ rowsSent: 3, complete: true, error: undefined })
    const stored = wandb.run(wandb.entity, 'sparse', RUN)!
    expect(history(stored.history)).toEqual(VECTOR!.rows)
    expect(stored.history.map((row) => row._step)).toEqual([0, 1, 2])
    expect(stored.history.map((row) => row._timestamp)).toEqual(RECORDS.filter((r) => r.type === 'sample').map((r) => r.time))
    expect(stored).toMatchObject({ displayName: 'wandb-vector', group: 'digits', jobType: 'sparselab-profiler', complete: true, exitcode: 0 })
    expect(stored.config).toMatchObject({ sparselab: { run: RUN, algorithm: { name: 'RigL' }, layers: 2 } })
    const critical = evaluateFlags(RECORDS).filter((flag) => flag.severity === 'critical')
    expect(critical.length).toBe(2)
    expect(stored.alerts).toEqual(critical.map((flag) => ({ title: alertTitle(flag), text: alertText(flag), severity: 'ERROR' })))
    expect(stored.summary).toMatchObject({ 'sparselab/model/nnz': 10, 'sparselab/flags/critical': 2, 'sparselab/flags/warning': 2, 'sparselab/flags/info': 0 })
    expect(stored.files.get('records.ndjson')?.toString()).toBe('log')
    expect(warnings).toEqual([])
  })

  test('alerts the first ten critical flags one by one, and sums up the rest in one alert at the end', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `l${i}`)
    const run = { ...(RECORDS[0] as Extract<WireRecord, { type: 'run' }>), layers: names.map((name) => ({ name, shape: [8], numel: 8, dtype: 'float32', format: 'dense', mask_source: 'torch_prune' })) }
    const layers = names.map((name) => ({ name, nnz: 4, numel: 8, sparsity: 0.5, bytes: 32, dense_bytes: 32, hist: { lo: -1, hi: 1, counts: [1, 1, 1] }, nonfinite: 1 }))
    const records = [run, { type: 'sample', run: RUN, seq: 1, step: 0, time: 1, layers, cost_ms: 1, step_ms: null }, { type: 'end', run: RUN, seq: 2, step: 0, time: 2, status: 'finished' }] as WireRecord[]
    const critical = evaluateFlags(records).filter((flag) => flag.severity === 'critical')
    expect(critical.map((flag) => flag.layers)).toEqual(names.map((name) => [name]))
    const wandb = await fake()
    const { run: companionRun } = companion(wandb)
    for (const record of records) companionRun.add(record)
    await companionRun.finished
    expect(wandb.run(wandb.entity, 'sparse', RUN)!.alerts).toEqual([
      ...critical.slice(0, 10).map((flag) => ({ title: alertTitle(flag), text: alertText(flag), severity: 'ERROR' })),
      { ...restAlert(critical.slice(10)), severity: 'ERROR' },
    ])
  })

  test('survives 5xx, 429 and dropped connections: every row arrives once, in order, and add never waits', async () => {
    const wandb = await fake()
    wandb.failNext('500', { fault: 'reset', path: /file_stream/ }, { fault: '429', path: /file_stream/ }, { fault: '500', path: /graphql/ })
    const { run, warnings } = companion(wandb, { maxLinesPerRequest: 1 })
    for (const record of RECORDS) expect(run.add(record)).toBeUndefined() // queued, synchronously
    await run.finished
    expect(wandb.pendingFaults()).toBe(0)
    expect(run.state()).toMatchObject({ rowsSent: 3, complete: true, error: undefined })
    expect(history(wandb.run(wandb.entity, 'sparse', RUN)!.history)).toEqual(VECTOR!.rows)
    expect(warnings.some((warning) => warning.includes('retrying until it answers'))).toBe(true)
  })

  test('waits out a W&B that refuses connections, then sends everything', async () => {
    const port = await freePort()
    const { run } = companion({ url: `http://127.0.0.1:${port}`, apiKey: 'k'.repeat(40) })
    for (const record of RECORDS) run.add(record)
    await new Promise((wake) => setTimeout(wake, 300)) // several refused tries
    expect(run.state()).toMatchObject({ run: undefined, queued: RECORDS.length, rowsSent: 0 })
    const wandb = await startFakeWandb({ port, apiKey: 'k'.repeat(40) })
    fakes.push(wandb)
    await run.finished
    expect(history(wandb.run(wandb.entity, 'sparse', RUN)!.history)).toEqual(VECTOR!.rows)
  })

  test('a bad key stops forwarding with one clear message', async () => {
    const wandb = await fake()
    const { run, warnings } = companion({ url: wandb.url, apiKey: 'x'.repeat(40) })
    for (const record of RECORDS) run.add(record)
    await run.finished
    expect(run.state().error).toMatch(/refused the API key \(HTTP 401\).*WANDB_API_KEY/)
    expect(warnings).toEqual([`sparselab-profiler: W&B, ${RUN}: forwarding stopped: ${run.state().error}`])
    expect(wandb.runs()).toEqual([])
  })

  test('uploaded again, it adds no row W&B holds already', async () => {
    const wandb = await fake()
    for (let i = 0; i < 2; i++) {
      const { run } = companion(wandb, { skipStored: true })
      for (const record of RECORDS) run.add(record)
      await run.finished
    }
    expect(history(wandb.run(wandb.entity, 'sparse', RUN)!.history)).toEqual(VECTOR!.rows)
  })
})

test('forwardStore: each run received becomes a companion; one first seen mid-run continues its W&B history', async () => {
  const wandb = await fake()
  const options = { api: new WandbApi({ baseUrl: wandb.url, apiKey: wandb.apiKey }), project: 'sparse', minIntervalMs: 5, warn: () => {} }
  const store = new RunStore()
  const first = forwardStore(store, options)
  store.ingest(RECORDS.slice(0, 2)) // the run record and a sample
  await until(() => wandb.run(wandb.entity, 'sparse', RUN)?.history.length === 1)
  await first.stop() // the server stops mid-run …
  const second = forwardStore(store, options) // … and starts again, knowing the run from its log
  store.ingest(RECORDS.slice(2))
  await second.runs.get(RUN)!.finished
  const stored = wandb.run(wandb.entity, 'sparse', RUN)!
  expect(history(stored.history)).toEqual(VECTOR!.rows)
  expect(stored).toMatchObject({ complete: true, exitcode: 0 })
})

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((wake) => setTimeout(wake, 10))
  expect(condition()).toBe(true)
}
