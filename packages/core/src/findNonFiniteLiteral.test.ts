import { expect, test } from 'vitest'
import { findNonFiniteLiteral } from './findNonFiniteLiteral.js'

test('names the field of the first NaN, Infinity or -Infinity written as a value', () => {
  expect(findNonFiniteLiteral('{"cost_ms":NaN}')).toEqual({ path: 'cost_ms', literal: 'NaN' })
  expect(findNonFiniteLiteral('{"layers":[{"hist":{"lo":-Infinity,"hi":Infinity}}]}')).toEqual({ path: 'layers[0].hist.lo', literal: '-Infinity' })
  expect(findNonFiniteLiteral('{"a":[1, 2, Infinity ]}')).toEqual({ path: 'a[2]', literal: 'Infinity' })
  expect(findNonFiniteLiteral('NaN')).toEqual({ path: '', literal: 'NaN' })
})

test('ignores the words inside strings, escaped quotes included', () => {
  expect(findNonFiniteLiteral('{"name":"NaN \\" Infinity","x":NaN}')).toEqual({ path: 'x', literal: 'NaN' })
  expect(findNonFiniteLiteral('{"name":"NaN"')).toBeNull()
})

test('is null when the line is broken some other way too', () => {
  expect(findNonFiniteLiteral('{"a":NaN,}')).toBeNull()
  expect(findNonFiniteLiteral('{"a":NaNa}')).toBeNull()
  expect(findNonFiniteLiteral('{"a":1')).toBeNull()
})

test('survives nesting far deeper than the call stack', () => {
  const depth = 200_000
  expect(findNonFiniteLiteral(`${'['.repeat(depth)}NaN${']'.repeat(depth)}`)?.path).toBe('[0]'.repeat(depth))
})
