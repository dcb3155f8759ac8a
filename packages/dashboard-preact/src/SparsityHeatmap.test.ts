import { describe, expect, test } from 'vitest'
import { commonSegments, formatSigned, shortenLayerName, stepTicks } from './SparsityHeatmap.js'

// 6 px a character: what a monospace measure would report
const measure = (text: string) => text.length * 6

describe('shortenLayerName', () => {
  test('a name that fits stays whole', () => {
    expect(shortenLayerName('blocks.3.mlp.fc2', 200, measure)).toBe('blocks.3.mlp.fc2')
  })

  test('keeps the head up to the block index and the tail, the middle as …', () => {
    expect(shortenLayerName('encoder.layers.1.block.0.mlp.fc2', 24 * 6, measure)).toBe('encoder.layers.1…mlp.fc2')
  })

  test('keeps the block index and the leaf before the head', () => {
    expect(shortenLayerName('model.encoder.layers.11.self_attn.out_proj', 19 * 6, measure)).toBe('…layers.11…out_proj')
    expect(shortenLayerName('model.encoder.layers.11.self_attn.out_proj', 30 * 6, measure)).toBe('…layers.11.self_attn.out_proj')
  })

  test('drops the prefix every layer shares before other segments', () => {
    const name = 'model.encoder.layers.3.mlp.fc1'
    expect(shortenLayerName(name, 25 * 6, measure, 0)).toBe('model…layers.3.mlp.fc1')
    expect(shortenLayerName(name, 25 * 6, measure, 2)).toBe('…layers.3.mlp.fc1')
  })

  test('slashed paths and names without an index', () => {
    expect(shortenLayerName('backbone/stage4/conv_final/weight', 26 * 6, measure)).toBe('backbone…conv_final/weight')
  })

  test('cuts characters from the middle when the last segment alone is too long', () => {
    const short = shortenLayerName('a.very_long_leaf_name_indeed', 12 * 6, measure)
    expect(short.length).toBeLessThanOrEqual(12)
    expect(short).toContain('…')
    expect(short.endsWith('indeed')).toBe(true)
    expect(shortenLayerName('x', 0, measure)).toBe('')
  })

  test('never wider than asked', () => {
    const name = 'transformer.h.17.attn.c_attn.weight_orig'
    for (let width = 0; width < 260; width += 7) expect(measure(shortenLayerName(name, width, measure))).toBeLessThanOrEqual(width)
  })
})

test('commonSegments counts the shared leading segments, never a last one', () => {
  expect(commonSegments(['model.layers.0.fc', 'model.layers.1.fc'])).toBe(2)
  expect(commonSegments(['a.b', 'a.b'])).toBe(1)
  expect(commonSegments(['a.b.c', 'a.b'])).toBe(1)
  expect(commonSegments(['x.y', 'z.y'])).toBe(0)
  expect(commonSegments([])).toBe(0)
})

describe('stepTicks', () => {
  test('4 to 6 round steps', () => {
    expect(stepTicks(0, 10_000)).toEqual([0, 2000, 4000, 6000, 8000, 10_000])
    expect(stepTicks(0, 3100)).toEqual([0, 1000, 2000, 3000])
    expect(stepTicks(0, 14_000)).toEqual([0, 2500, 5000, 7500, 10_000, 12_500])
    expect(stepTicks(120, 29_900)).toEqual([5000, 10_000, 15_000, 20_000, 25_000])
    for (const [a, b] of [[0, 99], [0, 7000], [1234, 98_765], [0, 1_000_000], [50, 2_500_050]] as const) {
      const ticks = stepTicks(a, b)
      expect(ticks.length).toBeGreaterThanOrEqual(4)
      expect(ticks.length).toBeLessThanOrEqual(6)
      expect(ticks.every((t) => Number.isInteger(t) && t >= a && t <= b)).toBe(true)
    }
  })

  test('fewer when asked, whole steps only, one for a single sample', () => {
    expect(stepTicks(0, 10_000, 3)).toEqual([0, 5000, 10_000])
    expect(stepTicks(0, 3)).toEqual([0, 1, 2, 3])
    expect(stepTicks(500, 500)).toEqual([500])
  })
})

test('formatSigned: a difference of shares as signed percentage points, three significant digits', () => {
  expect([0.025, -0.0031, 0, 0.12345, -1].map(formatSigned)).toEqual(['+2.5%', '−0.31%', '0%', '+12.3%', '−100%'])
})
