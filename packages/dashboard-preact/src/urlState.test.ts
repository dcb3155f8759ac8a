import { describe, expect, test } from 'vitest'
import { MAX_COMPARED_RUNS } from '@sparselab-profiler/core'
import { comparedRuns, readUrlState, toggleCompared, writeUrlState } from './urlState.js'

describe('readUrlState', () => {
  test('run, compared runs, alignment, layer, step and zoom', () => {
    expect(readUrlState('?run=a&compare=b&compare=c&align=fraction&layer=fc1&step=120&zoom=100-900')).toEqual({
      run: 'a', compare: ['b', 'c'], align: 'fraction', layer: 'fc1', step: 120, zoom: [100, 900],
    })
  })

  test('compared runs: each once, never the run itself, at most MAX_COMPARED_RUNS − 1, empty ones dropped', () => {
    expect(MAX_COMPARED_RUNS - 1).toBe(3)
    expect(readUrlState('?run=a&compare=a&compare=b&compare=&compare=b&compare=c&compare=d&compare=e').compare).toEqual(['b', 'c', 'd'])
    expect(readUrlState('?run=a&compare=a')).toEqual({ run: 'a' })
  })

  test('alignment: by fraction when it says so, else by step (absent)', () => {
    expect(readUrlState('?run=a&compare=b&align=fraction').align).toBe('fraction')
    expect(readUrlState('?run=a&compare=b&align=step').align).toBeUndefined()
    expect(readUrlState('?run=a&compare=b&align=sideways').align).toBeUndefined()
  })

  test('zoom: whole steps or fractions of training, low below high; anything else ignored', () => {
    expect(readUrlState('?zoom=0.25-0.5').zoom).toEqual([0.25, 0.5])
    expect(readUrlState('?zoom=0-1').zoom).toEqual([0, 1])
    for (const bad of ['900-100', '5-5', '-1-4', '1e3-2e3', '.5-1', 'a-b']) expect(readUrlState(`?zoom=${bad}`).zoom, bad).toBeUndefined()
  })
})

describe('writeUrlState', () => {
  test('repeats compare once per run, says align only when by fraction and comparing, keeps the token', () => {
    expect(writeUrlState('?token=t0k&compare=old', { run: 'a', compare: ['b', 'c'], align: 'fraction', zoom: [0.1, 0.5] })).toBe(
      '?token=t0k&run=a&compare=b&compare=c&align=fraction&zoom=0.1-0.5',
    )
    expect(writeUrlState('?align=fraction', { run: 'a', compare: ['b'], align: 'step' })).toBe('?run=a&compare=b')
    // no compared run: the single-run page has nothing to align
    expect(writeUrlState('?run=a&compare=b&align=fraction', { run: 'a', align: 'fraction' })).toBe('?run=a')
  })

  test('what it writes reads back the same', () => {
    const state = { run: 'r 1', compare: ['r&2', 'r=3'], align: 'fraction' as const, layer: 'enc/fc 1', step: 40, zoom: [0.125, 0.75] as [number, number] }
    expect(readUrlState(writeUrlState('', state))).toEqual(state)
  })
})

test('comparedRuns keeps the given order, once each, without the run on show', () => {
  expect(comparedRuns('a', ['c', 'a', 'b', 'c'])).toEqual(['c', 'b'])
  expect(comparedRuns(undefined, ['b', 'c', 'd', 'e'])).toEqual(['b', 'c', 'd'])
})

test('toggleCompared takes a chosen run out, adds another last while under the limit, and never past it', () => {
  expect(toggleCompared([], 'b')).toEqual(['b'])
  expect(toggleCompared(['b', 'c'], 'b')).toEqual(['c'])
  expect(toggleCompared(['b', 'c'], 'd')).toEqual(['b', 'c', 'd'])
  expect(toggleCompared(['b', 'c', 'd'], 'e')).toEqual(['b', 'c', 'd'])
  expect(toggleCompared(['b', 'c', 'd'], 'c')).toEqual(['b', 'd'])
})
