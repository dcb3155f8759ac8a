import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, expect, test } from 'vitest'
import { PYTHON, REPO, run, tempDir } from '../support/env.js'
import { startFakeWandb, type FakeWandb } from '../support/fakeWandb.js'

// The real `wandb` client (the venv's) logs a run offline, then `wandb sync` forwards it to the fake W&B server.
const WANDB = join(REPO, '.venv', 'bin', 'wandb')
const HIST_COUNTS = [1, 2, 3]
const HIST_EDGES = [0, 0.5, 1, 1.5]
const ROWS = 20
const HIST_AT = 5

const SCRIPT = `
import numpy as np, wandb
run = wandb.init(project="p", entity="e", name="fake-sync", config={"lr": 0.01, "layers": [64, 32]})
for i in range(${ROWS}):
    row = {"loss": 1.0 / (i + 1), "acc": i * 0.25}
    if i == ${HIST_AT}:
        row["weights"] = wandb.Histogram(np_histogram=(np.array(${JSON.stringify(HIST_COUNTS)}), np.array(${JSON.stringify(HIST_EDGES)})))
    wandb.log(row)
wandb.alert(title="done", text="all rows logged")
wandb.finish()
`

/** The rows the script logs, as W&B stores them (histograms in their JSON form), with the `_step` W&B adds. */
const expectedRows = Array.from({ length: ROWS }, (_, i) => ({
  loss: 1 / (i + 1),
  acc: i * 0.25,
  ...(i === HIST_AT ? { weights: { _type: 'histogram', values: HIST_COUNTS, bins: HIST_EDGES } } : {}),
  _step: i,
}))

let home: string
let runDir: string
let runId: string
let fake: FakeWandb | undefined

/** wandb's config, cache and data dirs inside the test's temp dir, so nothing lands in $HOME. */
const wandbEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  WANDB_CONFIG_DIR: join(home, 'config'),
  WANDB_CACHE_DIR: join(home, 'cache'),
  WANDB_DATA_DIR: join(home, 'data'),
  ...extra,
})

function sync(url: string, apiKey: string) {
  // --no-skip-synced: every test syncs the same offline run, which the first sync marks as synced.
  // Not WANDB_SILENT: it would hide the errors sync prints.
  return run(WANDB, ['sync', '--no-skip-synced', '--entity', 'e', '--project', 'p', runDir], {
    cwd: home,
    env: wandbEnv({ WANDB_BASE_URL: url, WANDB_API_KEY: apiKey }),
  }).done
}

beforeAll(async () => {
  home = tempDir('wandb')
  writeFileSync(join(home, 'train.py'), SCRIPT)
  const logged = await run(PYTHON, [join(home, 'train.py')], { cwd: home, env: wandbEnv({ WANDB_MODE: 'offline', WANDB_DIR: home, WANDB_SILENT: 'true' }) }).done
  expect(logged.code, logged.stderr).toBe(0)
  const dir = readdirSync(join(home, 'wandb')).find((name) => name.startsWith('offline-run-'))
  expect(dir).toBeDefined()
  runDir = join(home, 'wandb', dir!)
  runId = dir!.split('-').at(-1)!
})

afterEach(async () => {
  await fake?.close()
  fake = undefined
})

const withoutClock = (row: Record<string, unknown>) => {
  const { _timestamp, _runtime, ...rest } = row
  expect(typeof _timestamp).toBe('number')
  expect(typeof _runtime).toBe('number')
  return rest
}

test('wandb sync forwards an offline run to the fake W&B: rows, histogram, config, alert, files, completion', async () => {
  fake = await startFakeWandb()
  const synced = await sync(fake.url, fake.apiKey)
  expect(synced.code, synced.stderr).toBe(0)
  expect(fake.unknownOperations).toEqual([])

  const stored = fake.run('e', 'p', runId)
  expect(stored).toBeDefined()
  expect(stored!.displayName).toBe('fake-sync')
  expect(stored!.config).toMatchObject({ lr: 0.01, layers: [64, 32] })
  expect(stored!.history.map(withoutClock)).toEqual(expectedRows)
  expect(stored!.summary).toMatchObject({ loss: 1 / ROWS, acc: (ROWS - 1) * 0.25, _step: ROWS - 1, weights: expectedRows[HIST_AT]!.weights })
  expect(stored!.alerts).toEqual([{ title: 'done', text: 'all rows logged', severity: 'INFO' }])
  expect(JSON.parse(stored!.files.get('wandb-summary.json')!.toString('utf8'))).toMatchObject({ loss: 1 / ROWS })
  expect(stored!.files.has('config.yaml')).toBe(true)
  expect(stored!.complete).toBe(true)
  expect(stored!.exitcode).toBe(0)
  const ops = fake.requests.filter((r) => r.op).map((r) => r.op)
  expect(ops).toContain('UpsertBucket')
  expect(ops).toContain('CreateRunFiles')
})

test('wandb sync retries through injected 500 / 429 / reset faults and stores each row once', async () => {
  fake = await startFakeWandb()
  fake.failNext({ fault: '500', path: '/file_stream' }, { fault: '429', op: 'UpsertBucket' }, { fault: 'reset', path: '/upload/' })
  const synced = await sync(fake.url, fake.apiKey)
  expect(synced.code, synced.stderr).toBe(0)
  expect(fake.pendingFaults()).toBe(0)
  expect(fake.requests.filter((r) => r.fault).map((r) => r.fault).sort()).toEqual(['429', '500', 'reset'])
  const stored = fake.run('e', 'p', runId)!
  expect(stored.history.map(withoutClock)).toEqual(expectedRows)
  expect(stored.complete).toBe(true)
})

test('a bad API key gets 401 and wandb sync reports it', async () => {
  fake = await startFakeWandb()
  const unauthorized = await fetch(`${fake.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`api:${'0'.repeat(40)}`).toString('base64')}` },
    body: JSON.stringify({ query: 'query Viewer { viewer { entity } }' }),
  })
  expect(unauthorized.status).toBe(401)
  expect(await unauthorized.json()).toMatchObject({ errors: [{ message: 'user is not logged in' }] })

  const synced = await sync(fake.url, '0'.repeat(40))
  // wandb 0.31's sync prints the server's error but still exits 0, so the message is what a caller can check.
  expect(synced.stdout + synced.stderr).toContain('user is not logged in')
  expect(fake.requests.some((r) => r.status === 401)).toBe(true)
  expect(fake.runs()).toEqual([])
})
