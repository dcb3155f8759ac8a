import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { VegaLibraries } from '@sparselab-profiler/core'
import { exportRunLog } from '@sparselab-profiler/export'
import { JOURNAL_FILE, RECORDS_FILE, readRunFolder, runLogBatches } from '@sparselab-profiler/runlog'
import { CompanionRun, WandbApi, wandbSettings, type CompanionRunOptions, type CompanionRunState } from '@sparselab-profiler/wandb-adapter'

/** Where a run goes in W&B: `--wandb-project`, `--wandb-entity`, `--wandb-group` (or `--project`… of `wandb-upload`). */
export interface WandbTarget {
  project: string
  entity?: string
  group?: string
}

/** The W&B API as the environment names it (`WANDB_BASE_URL`, `WANDB_API_KEY` or netrc), and the entity. */
export function wandbFromEnv(target: WandbTarget, env: Record<string, string | undefined> = process.env): Pick<CompanionRunOptions, 'api' | 'project' | 'entity' | 'group'> {
  const settings = wandbSettings(env)
  return { api: new WandbApi(settings), project: target.project, entity: target.entity ?? settings.entity, group: target.group }
}

/** A run's log file: a records.ndjson named on its own, or in a run folder whichever of the two logs is longer. */
export function runLogFile(source: string): string {
  if (!statSync(source).isDirectory()) return source
  const logs = [RECORDS_FILE, JOURNAL_FILE].map((name) => join(source, name)).filter((path) => existsSync(path))
  if (!logs.length) throw new Error(`${source}: no ${RECORDS_FILE} or ${JOURNAL_FILE}`)
  return logs.reduce((a, b) => (statSync(b).size > statSync(a).size ? b : a))
}

/** What a run's W&B run keeps as files: its run log, and its report (rendered now). */
export async function runFiles(source: string, libraries: VegaLibraries): Promise<{ name: string; bytes: Uint8Array }[]> {
  const log = runLogFile(source)
  const snapshot = await readRunFolder(source)
  const files = [{ name: basename(log), bytes: readFileSync(log) }]
  if (snapshot) files.push({ name: 'report.html', bytes: Buffer.from(exportRunLog(snapshot, { libraries })) })
  return files
}

/**
 * `sparselab-profiler wandb-upload`: a finished (or stopped) run's log into a W&B run of its own, with its
 * report and log as files. Uploading a run again completes what W&B lacks, without duplicating rows.
 */
export async function uploadRun(source: string, options: Omit<CompanionRunOptions, 'skipStored' | 'finalFiles'>, libraries: VegaLibraries): Promise<CompanionRunState> {
  const companion = new CompanionRun({ ...options, skipStored: true, finalFiles: () => runFiles(source, libraries) })
  let ended = false
  let named = false
  for await (const batch of runLogBatches(runLogFile(source))) {
    for (const record of batch) {
      if (!named && record.type !== 'run') break
      named = true
      companion.add(record)
      ended ||= record.type === 'end'
    }
    if (!named) break
    // Read on only as W&B takes rows: a long outage must neither drop samples nor hold the whole log.
    while (companion.state().queued > 10_000 && !companion.state().error) await new Promise((wake) => setTimeout(wake, 50))
    if (companion.state().error) break
  }
  if (!named) {
    await companion.stop()
    throw new Error(`${source}: the log does not start with a run record: no run to upload`)
  }
  if (!ended) companion.complete(1)
  await companion.finished
  return companion.state()
}
