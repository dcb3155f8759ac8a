import { expect, test } from 'vitest'
import { matchedStep, pointAt } from './pointAt.js'

test('pointAt: the last point at or before the step, the first for an earlier one, -1 without points', () => {
  const points = [{ step: 0 }, { step: 10 }, { step: 20 }]
  expect([15, 10, 25, -5].map((step) => pointAt(points, step))).toEqual([1, 1, 2, 0])
  expect(pointAt([], 10)).toBe(-1)
})

test('matchedStep: the same step, or the same fraction of the other run’s training', () => {
  expect(matchedStep(300, { align: 'step', from: 600, to: 1200 })).toBe(300)
  expect(matchedStep(300, { align: 'fraction', from: 600, to: 1200 })).toBe(600)
  expect(matchedStep(300, { align: 'fraction', from: 0, to: 1200 })).toBe(300) // A without steps yet
})
