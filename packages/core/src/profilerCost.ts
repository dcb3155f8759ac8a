import type { SampleRecord, SamplerConfig, SamplerRecord } from './schema.js'
import { formatCount } from './totals.js'

/** Samples the rolling profiler cost is taken over. */
export const COST_WINDOW = 20

/** What one sample cost the profiler, and the training step time around it. */
export type CostPoint = Pick<SampleRecord, 'step' | 'cost_ms' | 'step_ms'>

/** The sampling interval in force at `step`: the last sampler change at or before it, else the run's own. */
export function intervalAt(step: number, config: SamplerConfig, changes: readonly SamplerRecord[]): number {
  let every = config.every
  for (const change of changes) if (change.step <= step) every = change.every
  return every
}

/**
 * The profiler's share of training time over the recent samples: their cost over the training time they
 * stood for (the interval in force times the step time). null until a step time is known.
 * @example rollingOverhead(overview.costs, (step) => intervalAt(step, run.sampler, overview.sampler)) // 0.004
 */
export function rollingOverhead(points: readonly CostPoint[], every: (step: number) => number): number | null {
  let cost = 0
  let training = 0
  for (const p of points.slice(-COST_WINDOW)) {
    if (p.step_ms === null) continue
    cost += p.cost_ms
    training += every(p.step) * p.step_ms
  }
  return training > 0 ? cost / training : null
}

/**
 * The sampling interval in force, in words, with when and why it last changed.
 * @example describeSampling({ every: 10, budget: 0.01 }, [{ step: 300, every: 40, overhead: 0.023, … }])
 * // 'every 40 steps since step 300, widened from 10 when it cost 2.3%, to stay under the 1% budget'
 */
export function describeSampling(config: SamplerConfig, changes: readonly SamplerRecord[]): string {
  const last = changes.at(-1)
  const fraction = config.budget // absent in logs of older profilers; null when the sampler does not adapt
  const budget = typeof fraction === 'number' ? ` the ${percent(fraction)} budget` : ' its overhead budget'
  if (!last) return `every ${plural(config.every)}${fraction === null ? ' (fixed)' : ', as requested'}`
  const before = changes.at(-2)?.every ?? config.every
  const since = `every ${plural(last.every)} since step ${formatCount(last.step)}`
  if (last.every > before) return `${since}, widened from ${before} when it cost ${percent(last.overhead)}, to stay under${budget}`
  if (last.every < before) return `${since}, narrowed from ${before}: the cost fell to ${percent(last.overhead)}, within${budget}`
  return since
}

const plural = (every: number) => (every === 1 ? 'step' : `${formatCount(every)} steps`)
const percent = (fraction: number) => `${Number((fraction * 100).toPrecision(2))}%`
