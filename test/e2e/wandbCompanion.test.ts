import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { CLI, PYTHON, REPO, run, tempDir } from '../support/env.js'
import { startFakeWandb, type FakeRun, type FakeWandb } from '../support/fakeWandb.js'
import { freePort } from '../support/freePort.js'

// One real SparseLab RigL training, profiled three ways into one fake W&B: the Python callback forwarding into
// the user's own offline run (then `wandb sync`), `serve --wandb-project` forwarding it live while W&B is down
// at first (connections refused), and `wandb-upload` of the finished run log. All three must store the same rows.
const WANDB = join(REPO, '.venv', 'bin', 'wandb')
const ENTITY = 'lab'
const SCRIPT = `
import sys, torch, wandb, sparselab
from torch import nn
import torch.nn.functional as F
from sparselab_profiler import SparsityProfilerCallback
torch.manual_seed(0)
model = nn.Sequential(sparselab.SparseLinear(32, 64, sparsity=0.9), nn.ReLU(), sparselab.SparseLinear(64, 10, sparsity=0.8))
rigl = sparselab.RigL(sparsity=0.9, drop_fraction=0.3, update_freq=20, seed=0)
model.apply(rigl)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
x, y = torch.randn(256, 32), torch.randint(0, 10, (256,))
wandb.init(project="inrun", entity="${ENTITY}", name="sparse-mlp")  # the user's run; the user logs nothing
with SparsityProfilerCallback(every=10, overhead_budget=None, logdir=sys.argv[1], server=sys.argv[2], run_name="sparse-mlp") as profiler:
    profiler.attach(model, algorithm=rigl)
    for step in range(120):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step(); rigl.step()
        profiler.step(loss=loss)
print(profiler.log_path.parent)
wandb.finish()
`

let home: string
let fake: FakeWandb
let serve: ReturnType<typeof run>
let runDir: string
let runId: string
let trainedWhileDown: string | undefined

const wandbEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  WANDB_CONFIG_DIR: join(home, 'config'),
  WANDB_CACHE_DIR: join(home, 'cache'),
  WANDB_DATA_DIR: join(home, 'data'),
  NETRC: join(home, 'no-netrc'),
  ...extra,
})

beforeAll(async () => {
  home = tempDir('wandb-companion')
  const port = await freePort()
  const key = 'f'.repeat(40)
  const at = { WANDB_BASE_URL: `http://127.0.0.1:${port}`, WANDB_API_KEY: key }
  serve = run(CLI, ['serve', '--port', '0', '--logdir', join(home, 'server'), '--wandb-project', 'live', '--wandb-entity', ENTITY], { env: wandbEnv(at) })
  const url = await new Promise<string>((resolve, reject) => {
    serve.child.stdout!.on('data', (chunk: Buffer) => {
      const match = /dashboard: (http:\S+)\//.exec(String(chunk))
      if (match) resolve(match[1]!)
    })
    void serve.done.then((finished) => reject(new Error(`serve exited: ${finished.stderr}`)))
  })
  writeFileSync(join(home, 'train.py'), SCRIPT)
  // W&B is down (nothing listens on its port) for the whole training: ingest must not wait on it.
  const trained = await run(PYTHON, [join(home, 'train.py'), join(home, 'runs'), url], { cwd: home, env: wandbEnv({ WANDB_MODE: 'offline', WANDB_DIR: home, WANDB_SILENT: 'true', SPARSELAB_PROFILER_REPORT: '0' }) }).done
  expect(trained.code, trained.stderr).toBe(0)
  runDir = trained.stdout.trim().split('\n').at(-1)!
  runId = runDir.split('/').at(-1)!
  const status = (await (await fetch(`${url}/api/runs`)).json()) as { runs: { run: string; status: string }[] }
  trainedWhileDown = status.runs.find((r) => r.run === runId)?.status
  fake = await startFakeWandb({ port, apiKey: key })
  const offline = readdirSync(join(home, 'wandb')).find((name) => name.startsWith('offline-run-'))!
  const synced = await run(WANDB, ['sync', '--entity', ENTITY, '--project', 'inrun', join(home, 'wandb', offline)], { cwd: home, env: wandbEnv(at) }).done
  expect(synced.code, synced.stderr).toBe(0)
  const uploaded = await run(CLI, ['wandb-upload', runDir, '--project', 'uploaded', '--entity', ENTITY], { env: wandbEnv(at) }).done
  expect(uploaded.code, uploaded.stderr).toBe(0)
  expect(uploaded.stdout).toMatch(new RegExp(`^Uploaded 13 rows to W&B run ${ENTITY}/uploaded/${runId}$`, 'm'))
  await until(() => fake.runs().find((r) => r.project === 'live')?.complete === true)
})

afterAll(async () => {
  serve?.child.kill('SIGTERM')
  await serve?.done
  await fake?.close()
})

const runIn = (project: string): FakeRun => fake.runs().find((r) => r.project === project)!
/** Our rows: the `sparselab/` keys and W&B's `_step`; timestamps and runtimes differ by who sent them. */
const rows = (project: string) =>
  runIn(project).history.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => key.startsWith('sparselab/') || key === '_step')))

test('wandb sync of the in-run forwarding, the live companion and the uploaded one store the same rows', () => {
  expect(trainedWhileDown).toBe('finished') // the server had every record while W&B refused connections
  const samples = readFileSync(join(runDir, 'records.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; step: number })
  const steps = samples.filter((record) => record.type === 'sample').map((record) => record.step)
  expect(steps).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120].slice(0, steps.length))
  const inrun = rows('inrun')
  expect(inrun).toHaveLength(13)
  expect(inrun.map((row) => row['sparselab/step'])).toEqual(steps)
  expect(inrun.map((row) => row._step)).toEqual(steps.map((_, i) => i))
  const hist = inrun.at(-1)!['sparselab/layer/0/hist'] as { _type: string; values: number[]; bins: number[] }
  expect(hist._type).toBe('histogram')
  expect(hist.values.reduce((a, b) => a + b)).toBeGreaterThan(0)
  expect(rows('live')).toEqual(inrun)
  expect(rows('uploaded')).toEqual(inrun)
})

test('the companions are named after the run, grouped, complete, with the run log and the report as files', () => {
  for (const project of ['live', 'uploaded']) {
    const companion = runIn(project)
    expect(companion).toMatchObject({ entity: ENTITY, name: runId, displayName: 'sparse-mlp', group: 'sparse-mlp', jobType: 'sparselab-profiler', complete: true, exitcode: 0 })
    expect(companion.config).toMatchObject({ sparselab: { run: runId, algorithm: { name: 'RigL' }, layers: 2 } })
    expect(companion.summary['sparselab/step']).toBe(rows('inrun').at(-1)!['sparselab/step'])
    expect(String(companion.files.get('report.html'))).toContain('<!doctype html>')
  }
  expect(String(runIn('uploaded').files.get('records.ndjson'))).toBe(readFileSync(join(runDir, 'records.ndjson'), 'utf8'))
  expect(runIn('live').files.has('received.ndjson')).toBe(true) // the server's journal of the run
  // the in-run forwarding saved the trainer's run log into the user's own run
  expect(String(runIn('inrun').files.get('records.ndjson'))).toBe(readFileSync(join(runDir, 'records.ndjson'), 'utf8'))
})

test('a wrong key, no key, or a log without its run record: wandb-upload says so in one line and exits 1', async () => {
  const uploaded = await run(CLI, ['wandb-upload', runDir, '--project', 'refused'], { env: wandbEnv({ WANDB_BASE_URL: fake.url, WANDB_API_KEY: '0'.repeat(40) }) }).done
  expect(uploaded.code).toBe(1)
  expect(uploaded.stderr.trim()).toBe(`sparselab-profiler: W&B, ${runId}: forwarding stopped: W&B at ${fake.url} refused the API key (HTTP 401) during GraphQL Viewer: set WANDB_API_KEY, or run \`wandb login\``)
  const missing = await run(CLI, ['wandb-upload', runDir, '--project', 'p'], { env: wandbEnv({ WANDB_BASE_URL: fake.url, WANDB_API_KEY: '' }) }).done
  expect(missing.code).toBe(1)
  expect(missing.stderr).toContain('no W&B API key for 127.0.0.1: set WANDB_API_KEY, or run `wandb login`')
  const headless = join(home, 'headless.ndjson') // a log cut after its run record
  writeFileSync(headless, readFileSync(join(runDir, 'records.ndjson'), 'utf8').split('\n').slice(1).join('\n'))
  const nameless = await run(CLI, ['wandb-upload', headless, '--project', 'p'], { env: wandbEnv({ WANDB_BASE_URL: fake.url, WANDB_API_KEY: fake.apiKey }) }).done
  expect(nameless.code).toBe(1)
  expect(nameless.stderr.trim()).toBe(`sparselab-profiler: ${headless}: the log does not start with a run record: no run to upload`)
})

async function until(condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 100))
  expect(condition()).toBe(true)
}
