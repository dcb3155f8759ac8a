import { readFileSync } from 'node:fs'
import type { WireRecord } from '@sparselab-profiler/core'
import { PYTHON, run, tempDir } from './env.js'

/**
 * Trains the real SparseLab demo without a server and returns its run log, so browser tests can feed
 * real records to a server at the pace they need. `args` go to the demo as they are (`--sparsity 0.8`).
 * The interval is fixed (`--overhead-budget none`): a busy machine would otherwise widen it and leave a
 * test fewer samples than it counts on.
 */
export async function recordRealRun(steps = 300, args: readonly string[] = []): Promise<WireRecord[]> {
  const logdir = tempDir('recorded')
  const training = await run(PYTHON, ['-m', 'sparselab_profiler.demo', '--server', 'none', '--logdir', logdir, '--steps', String(steps), '--overhead-budget', 'none', ...args]).done
  if (training.code !== 0) throw new Error(`demo training failed: ${training.stderr}`)
  const { run_log } = JSON.parse(training.stdout.trim().split('\n').at(-1)!) as { run_log: string }
  return readFileSync(run_log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as WireRecord)
}

export const toNdjson = (records: WireRecord[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`
