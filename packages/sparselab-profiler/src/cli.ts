import { spawn } from 'node:child_process'
import { statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  MAX_COMPARED_RUNS,
  OVERVIEW_POINTS,
  SEVERITIES,
  compareRuns,
  formatCount,
  parseFlagThresholds,
  runOverview,
  summaryRows,
  type Severity,
  type StepAlignment,
  type SummaryRow,
} from '@sparselab-profiler/core'
import { exportCompareLog, exportRunLog } from '@sparselab-profiler/export'
import { JOURNAL_FILE, RECORDS_FILE, readRunFolder } from '@sparselab-profiler/runlog'
import { forwardStore } from '@sparselab-profiler/wandb-adapter'
import { startServer } from './index.js'
import { untilStopped } from './untilStopped.js'
import { runFiles, uploadRun, wandbFromEnv } from './wandb.js'
import { loadProfilerAssets, type ProfilerAssets } from './profilerAssets.js'

const USAGE = `Usage: sparselab-profiler <command> [options]

Commands:
  serve                         live dashboard and ingest server
      --port 8080  --host 127.0.0.1  --logdir ./sparsity_runs  --token T  --stale-after 30
                                (a run silent that many seconds without an end shows as interrupted)
      --cors-origin https://tool.example  (repeatable: pages allowed to embed the dashboard)
      --allowed-host lab.example  (repeatable: a name the server is reached by beyond localhost,
                                IP addresses and --host; .lab.example a whole domain, * any;
                                requests by any other name get 403, against DNS rebinding)
      --flag-threshold drift=0.1  (repeatable: a flag threshold for every run, docs/flags.md;
                                a run's own flag_thresholds win)
      --wandb-project P  [--wandb-entity E] [--wandb-group G]
                                forward every run received to W&B, each as a run of its own (its
                                rows under sparselab/, critical flags as alerts, at the end its log
                                and report); W&B from WANDB_BASE_URL and WANDB_API_KEY or ~/.netrc
  wandb-upload <run dir | records.ndjson> --project P [--entity E] [--group G]
                                upload a run to W&B as a run of its own, as serve --wandb-project
                                would have; again, it completes what W&B lacks
  export <run dir | records.ndjson> -o report.html [--title "..."]
                                write one self-contained HTML report (from a run dir: the longer of
                                the trainer's records.ndjson and the server's received.ndjson)
  export <run A> <run B> [up to 4 runs] -o compare.html [--align step|fraction] [--title "..."]
                                write one self-contained compare report: the runs side by side, their
                                sparsity and churn overlaid (a dash per run) with differences from A,
                                per shared layer its weights on shared bins, each run's flags
                                (--align: by training step, the default, or fraction of each run)
  check <run dir | records.ndjson> [--json] [--fail-on info|warning|critical|never]
        [--flag-threshold name=value]...
                                print the run's flags (docs/flags.md) and exit 1 when one is at or above
                                --fail-on (default critical), 0 otherwise, 2 when the run cannot be read
  compare <run A> <run B> [up to 4 runs] [--json] [--align step|fraction] [--flag-threshold name=value]...
                                the runs side by side: algorithm and the parameters that differ (*),
                                sparsity, memory, churn, flags, profiler cost, steps, wall time, loss;
                                layers only some runs have
  demo                          train a SparseLab MLP with RigL on the digits data, streamed live,
                                then export its report beside the run log
      --port 8080  --logdir ./sparsity_runs  --python python3  --steps 3000  --step-delay 0
`

type Command = (args: string[], assets: () => ProfilerAssets) => Promise<number>

const serve: Command = async (args, assets) => {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      logdir: { type: 'string', default: './sparsity_runs' },
      token: { type: 'string' },
      'stale-after': { type: 'string', default: '30' },
      'cors-origin': { type: 'string', multiple: true, default: [] },
      'allowed-host': { type: 'string', multiple: true, default: [] },
      'flag-threshold': { type: 'string', multiple: true, default: [] },
      'wandb-project': { type: 'string' },
      'wandb-entity': { type: 'string' },
      'wandb-group': { type: 'string' },
    },
  })
  if ((values['wandb-entity'] || values['wandb-group']) && !values['wandb-project']) throw new Error('--wandb-entity and --wandb-group go with --wandb-project')
  const wandb = values['wandb-project'] ? wandbFromEnv({ project: values['wandb-project'], entity: values['wandb-entity'], group: values['wandb-group'] }) : undefined
  const staleAfterSeconds = Number(values['stale-after'])
  if (!(staleAfterSeconds > 0)) throw new Error(`--stale-after must be a number of seconds above 0, got ${values['stale-after']}`)
  const { dashboard, vegaLibraries } = assets()
  const flagThresholds = parseFlagThresholds(values['flag-threshold'])
  const server = await startServer({
    dashboard,
    vegaLibraries,
    port: parsePort(values.port),
    host: values.host,
    logdir: values.logdir,
    token: values.token,
    staleAfterSeconds,
    corsOrigins: values['cors-origin'],
    allowedHosts: values['allowed-host'],
    flagThresholds,
  })
  const forwarding = wandb && forwardStore(server.store, { ...wandb, flagThresholds, finalFiles: (run) => runFiles(join(values.logdir, run), vegaLibraries) })
  console.log(`SparseLab Profiler dashboard: ${server.url}/${wandb ? ` (forwarding runs to W&B project ${wandb.project} at ${wandb.api.baseUrl})` : ''}`)
  await untilStopped()
  await forwarding?.stop()
  await server.close()
  return 0
}

const wandbUpload: Command = async (args, assets) => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { project: { type: 'string' }, entity: { type: 'string' }, group: { type: 'string' } },
  })
  const [source] = positionals
  if (!source || positionals.length > 1 || !values.project) throw new Error(`wandb-upload takes one run directory or records.ndjson and --project\n\n${USAGE}`)
  const target = wandbFromEnv({ project: values.project, entity: values.entity, group: values.group })
  const state = await uploadRun(source, { ...target, warn: (message) => console.error(message) }, assets().vegaLibraries)
  if (state.error || !state.run) return 1 // told once, by the companion run
  const { run } = state
  console.log(`Uploaded ${state.rowsSent} rows${state.alertsSent ? ` and ${state.alertsSent} alerts` : ''} to W&B run ${run.entity}/${run.project}/${run.name}`)
  return 0
}

const ALIGNMENTS: readonly StepAlignment[] = ['step', 'fraction']

const exportCommand: Command = async (args, assets) => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, title: { type: 'string' }, align: { type: 'string' } },
  })
  if (!positionals.length || positionals.length > MAX_COMPARED_RUNS)
    throw new Error(`export takes one run directory or records.ndjson, or 2 to ${MAX_COMPARED_RUNS} to compare, got ${positionals.length}\n\n${USAGE}`)
  if (positionals.length > 1) return exportComparison(positionals, values, assets)
  if (values.align !== undefined) throw new Error(`--align lines up compared runs: give export 2 to ${MAX_COMPARED_RUNS} runs`)
  const [source] = positionals as [string]
  const folder = statSync(source).isDirectory()
  const output = values.output ?? join(folder ? source : dirname(source), 'report.html')
  const large = folder || statSync(source).size > 5 * 2 ** 20
  if (large) console.error(`Reading ${source}…`)
  const snapshot = await readRunFolder(source)
  if (!snapshot) throw new Error(`${source}: no ${RECORDS_FILE} or ${JOURNAL_FILE} with records`)
  if (large) console.error(`Rendering ${snapshot.samples.length} samples of ${snapshot.run.layers.length} layers…`)
  writeFileSync(output, exportRunLog(snapshot, { libraries: assets().vegaLibraries, title: values.title }))
  console.log(`Report written: ${resolve(output)} (${Math.round(statSync(output).size / 1024)} KiB)`)
  return 0
}

/** `export A B …`: the compare report of 2 to MAX_COMPARED_RUNS runs, `compare.html` in the working directory unless -o. */
async function exportComparison(sources: string[], values: { output?: string; title?: string; align?: string }, assets: () => ProfilerAssets): Promise<number> {
  const alignment = (values.align ?? 'step') as StepAlignment
  if (!ALIGNMENTS.includes(alignment)) throw new Error(`--align must be ${ALIGNMENTS.join(' or ')}, got ${values.align}`)
  const snapshots = []
  for (const source of sources) {
    console.error(`Reading ${source}…`)
    const snapshot = await readRunFolder(source)
    if (!snapshot) throw new Error(`${source}: no ${RECORDS_FILE} or ${JOURNAL_FILE} with records`)
    snapshots.push(snapshot)
  }
  const output = values.output ?? 'compare.html'
  writeFileSync(output, exportCompareLog(snapshots, { libraries: assets().vegaLibraries, title: values.title, alignment }))
  console.log(`Compare report written: ${resolve(output)} (${Math.round(statSync(output).size / 1024)} KiB)`)
  return 0
}

const FAIL_ON = ['info', 'warning', 'critical', 'never'] as const

const check: Command = async (args) => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'fail-on': { type: 'string', default: 'critical' },
      'flag-threshold': { type: 'string', multiple: true, default: [] },
    },
  })
  const failOn = values['fail-on'] as (typeof FAIL_ON)[number]
  const [source] = positionals
  if (!source || positionals.length > 1 || !FAIL_ON.includes(failOn)) {
    console.error(`check takes one run directory or records.ndjson, and --fail-on ${FAIL_ON.join('|')}\n\n${USAGE}`)
    return 2
  }
  let snapshot: Awaited<ReturnType<typeof readRunFolder>>
  try {
    snapshot = await readRunFolder(source, { flagThresholds: parseFlagThresholds(values['flag-threshold']) })
  } catch (error) {
    console.error(`sparselab-profiler check: ${(error as Error).message}`)
    return 2
  }
  if (!snapshot) {
    console.error(`sparselab-profiler check: ${source}: no ${RECORDS_FILE} or ${JOURNAL_FILE} with records`)
    return 2
  }
  const { flags } = snapshot
  if (values.json) console.log(JSON.stringify({ run: snapshot.run.run, flags }, null, 2))
  else {
    console.log(`${snapshot.run.name} (${snapshot.run.run}): ${flags.length ? `${flags.length} flag${flags.length === 1 ? '' : 's'}` : 'no flags'}`)
    for (const flag of flags) {
      const where = flag.from === flag.to ? `step ${formatCount(flag.to)}` : `steps ${formatCount(flag.from)}–${formatCount(flag.to)}`
      console.log(`\n${flag.severity.toUpperCase()} ${flag.rule} · ${where}\n  ${flag.message}\n  Fix: ${flag.fix}`)
    }
  }
  const threshold = SEVERITIES.indexOf(failOn as Severity)
  return threshold >= 0 && flags.some((f) => SEVERITIES.indexOf(f.severity) >= threshold) ? 1 : 0
}

const compare: Command = async (args) => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      align: { type: 'string', default: 'step' },
      'flag-threshold': { type: 'string', multiple: true, default: [] },
    },
  })
  if (positionals.length < 2 || positionals.length > MAX_COMPARED_RUNS || !['step', 'fraction'].includes(values.align)) {
    console.error(`compare takes 2 to ${MAX_COMPARED_RUNS} run directories or records.ndjson files, and --align step|fraction\n\n${USAGE}`)
    return 2
  }
  const flagThresholds = parseFlagThresholds(values['flag-threshold'])
  const runs = []
  for (const source of positionals) {
    const snapshot = await readRunFolder(source, { flagThresholds })
    if (!snapshot) throw new Error(`${source}: no ${RECORDS_FILE} or ${JOURNAL_FILE} with records`)
    runs.push({ overview: runOverview(snapshot, OVERVIEW_POINTS), flags: snapshot.flags })
  }
  const { summary, differingParams, algorithmDiffers, sharedLayers, onlyIn } = compareRuns(runs, values.align as StepAlignment)
  if (values.json) {
    console.log(JSON.stringify({ summary, differingParams, algorithmDiffers, sharedLayers, onlyIn }, null, 2))
    return 0
  }
  console.log(summaryTable(summaryRows({ summary, differingParams, algorithmDiffers })))
  console.log(`\nLayers in every run: ${sharedLayers.length}`)
  for (const { run, layers } of onlyIn) if (layers.length) console.log(`Only in ${run}: ${layers.join(', ')}`)
  return 0
}

const demo: Command = async (args, assets) => {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8080' },
      logdir: { type: 'string', default: './sparsity_runs' },
      python: { type: 'string', default: process.env.SPARSELAB_PROFILER_PYTHON ?? 'python3' },
      steps: { type: 'string', default: '3000' },
      'step-delay': { type: 'string', default: '0' },
    },
  })
  const { dashboard, vegaLibraries } = assets()
  const server = await startServer({ dashboard, vegaLibraries, port: parsePort(values.port), logdir: values.logdir })
  console.log(`SparseLab Profiler dashboard: ${server.url}/  (open it to watch the run live)`)
  try {
    const pythonArgs = ['-m', 'sparselab_profiler.demo', '--server', server.url, '--logdir', values.logdir, '--steps', values.steps, '--step-delay', values['step-delay']]
    const { code, lastLine } = await runPython(values.python, pythonArgs)
    if (code !== 0) throw new Error(`the demo training exited with code ${code}`)
    const result = JSON.parse(lastLine) as { run_log: string; test_accuracy: number }
    const report = join(dirname(result.run_log), 'report.html')
    const snapshot = await readRunFolder(dirname(result.run_log))
    if (!snapshot) throw new Error(`${result.run_log}: no records`)
    writeFileSync(report, exportRunLog(snapshot, { libraries: vegaLibraries }))
    console.log(`Test accuracy ${(result.test_accuracy * 100).toFixed(1)}%. Report written: ${resolve(report)}`)
    return 0
  } finally {
    await server.close()
    console.log(
      `The demo's dashboard server has stopped. To reopen its runs: sparselab-profiler serve --logdir ${values.logdir}` +
        ` --port ${server.port}, then open http://127.0.0.1:${server.port}/`,
    )
  }
}

/** The summary as a text table: a column per run, `*` before a row whose values differ. */
function summaryTable(rows: readonly SummaryRow[]): string {
  const labels = rows.map((r) => `${r.differs ? '* ' : '  '}${r.label}`)
  const widths = [Math.max(...labels.map((l) => l.length)), ...rows[0]!.cells.map((_, i) => Math.max(...rows.map((r) => r.cells[i]!.length)))]
  return rows.map((r, i) => [labels[i]!, ...r.cells].map((cell, j) => cell.padEnd(widths[j]!)).join('  ').trimEnd()).join('\n')
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer from 0 to 65535, got ${text}`)
  return port
}

function runPython(python: string, args: string[]): Promise<{ code: number; lastLine: string }> {
  return new Promise((done, fail) => {
    // The CLI writes the report itself once training is over, so the callback need not.
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PYTHONUNBUFFERED: '1', SPARSELAB_PROFILER_REPORT: '0' } })
    let lastLine = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      process.stdout.write(chunk)
      const lines = chunk.trim().split('\n')
      lastLine = lines.at(-1) || lastLine
    })
    child.on('error', (error) => fail(new Error(`cannot run ${python} (${error.message}); pass --python /path/to/venv/bin/python`)))
    child.on('close', (code) => done({ code: code ?? 1, lastLine }))
  })
}

const COMMANDS: Record<string, Command> = { serve, export: exportCommand, check, compare, demo, 'wandb-upload': wandbUpload }

export interface MainOptions {
  /** What the server serves and an export inlines. @default read from the installed packages (`loadProfilerAssets`) */
  assets?: ProfilerAssets
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const [name, ...rest] = argv
  const command = name ? COMMANDS[name] : undefined
  if (!command) {
    console.log(USAGE)
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2
  }
  return command(rest, () => options.assets ?? loadProfilerAssets())
}
