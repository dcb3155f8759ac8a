import type { StepAlignment } from '@sparselab-profiler/core'

/**
 * Index of the last point at or before `step`: the sample an inspector shows for it (the first point for an
 * earlier step; -1 without points).
 * @example pointAt([{ step: 0 }, { step: 10 }, { step: 20 }], 15) // 1
 */
export function pointAt(points: readonly { step: number }[], step: number): number {
  let index = points.length - 1
  while (index > 0 && points[index]!.step > step) index--
  return index
}

/**
 * Run A's step matched in another run of a comparison: the same step, or the same fraction of each run's
 * training (`from`: A's steps, `to`: the other run's).
 * @example matchedStep(300, { align: 'fraction', from: 600, to: 1200 }) // 600
 */
export function matchedStep(step: number, { align, from, to }: { align: StepAlignment; from: number; to: number }): number {
  return align === 'step' || from === 0 ? step : (step / from) * to
}
