import type { Flag } from '@sparselab-profiler/core'

/**
 * Flag → W&B alert: the one wording. The Python callback's alerts (`wandb_forward.py`) are held to it by the
 * shared vector `test/vectors/wandb.json`.
 */

/** Critical flags sent as W&B alerts of their own per run; one more alert (`restAlert`) sums up the others. */
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

/** Flags a `restAlert` lists by name; past it, it counts them. */
const REST_LISTED = 50

/**
 * The one alert for the critical flags past `MAX_ALERTS`: each named with its message, up to 50.
 * @example restAlert(critical.slice(MAX_ALERTS)).title // 'SparseLab: 3 more critical flags'
 */
export function restAlert(flags: readonly Pick<Flag, 'rule' | 'layers' | 'metric' | 'message'>[]): { title: string; text: string } {
  const lines = flags.slice(0, REST_LISTED).map((flag) => `${alertTitle(flag).slice('SparseLab: '.length)}: ${flag.message}`)
  const more = flags.length > REST_LISTED ? `\n… and ${flags.length - REST_LISTED} more` : ''
  return {
    title: `SparseLab: ${flags.length} more critical flags`,
    text: `${lines.join('\n')}${more}\nAll flags: sparselab-profiler check on the run log (records.ndjson).`,
  }
}
