import { expect, test } from 'vitest'
import { lastAtOrBefore } from './lastAtOrBefore.js'

test('the last item at or before x, -1 before the first, the last past the end; ties take the last', () => {
  const steps = [0, 10, 10, 20, 40]
  const at = (x: number) => lastAtOrBefore(steps, x, (s) => s)
  expect([-1, 0, 5, 10, 19, 20, 39, 40, 1e9].map(at)).toEqual([-1, 0, 0, 2, 2, 3, 3, 4, 4])
  expect(lastAtOrBefore([], 3, (s: number) => s)).toBe(-1)
  // checked against a linear scan on every x around every item
  for (let x = -2; x <= 42; x++) expect(at(x)).toBe(steps.filter((s) => s <= x).length - 1)
})
