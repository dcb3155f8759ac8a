import type { Flag } from '@sparselab-profiler/core'

/**
 * Flag → W&B alert: the one wording. The Python callback's alerts (`wandb_forward.py`) are held to it by the
 * shared vector `test/vectors/wandb.json`.
 */

/** Critical flags sent as W&B alerts per run; past it, one alert says how many more there are. */
export const MAX_ALERTS = 10

/** The longest alert title W&B takes ("less than 64 characters"). */
export const MAX_ALERT_TITLE = 63

/**
 * The title of a flag's W&B alert: `SparseLab: <rule> in <layers>`, the rule alone for a run-wide flag.
 * @example alertTitle(flag) // 'SparseLab: non-finite-weights in fc1'
 */
export function alertTitle(flag: Pick<Flag, 'rule' | 'layers' | 'metric'>): string {
  const rule = flag.metric ? `${flag.rule} (${flag.metric})` : flag.rule
  const where = flag.layers.slice(0, 2).join(', ') + (flag.layers.length > 2 ? ` and ${flag.layers.length - 2} more` : '')
  const title = `SparseLab: ${rule}${where ? ` in ${where}` : ''}`
  return [...title].length <= MAX_ALERT_TITLE ? title : `${[...title].slice(0, MAX_ALERT_TITLE - 1).join('')}…`
}

/** The text of a flag's W&B alert: its message, where (steps), and the suggested fix. */
export function alertText(flag: Pick<Flag, 'message' | 'from' | 'to' | 'fix'>): string {
  const steps = flag.from === flag.to ? `step ${flag.from}` : `steps ${flag.from} to ${flag.to}`
  return `${flag.message} (${steps}).\nFix: ${flag.fix}`
}
