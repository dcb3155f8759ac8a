import { describe, expect, test } from 'vitest'
import { sampleBytes } from './recordBytes.js'
import { SampleHistory } from './SampleHistory.js'
import type { SampleRecord } from './schema.js'

const layer = (name: string) => ({
  name, nnz: 1, numel: 4, sparsity: 0.75, bytes: 16, dense_bytes: 16, nonfinite: 0, hist: { lo: -1, hi: 1, counts: new Array(64).fill(0) },
})
const sample = (seq: number, layers = 1000): SampleRecord => ({
  type: 'sample', run: 'r', seq, step: seq * 10, time: seq, cost_ms: 1, step_ms: 10,
  layers: Array.from({ length: layers }, (_, i) => layer(`blocks.${i}.fc`)),
})

describe('SampleHistory', () => {
  test('a 1000-layer run of 10,000 samples stays within its budget and still spans the whole run', () => {
    const one = sampleBytes(sample(0))
    const history = new SampleHistory(200 * one) // room for ~100 recent and ~100 older samples
    const template = sample(0)
    for (let seq = 1; seq <= 10_000; seq++) history.push({ ...template, seq, step: seq * 10 })
    const held = history.toArray()
    expect(held.reduce((sum, s) => sum + sampleBytes(s), 0)).toBeLessThanOrEqual(200 * one)
    expect(held[0]!.seq).toBe(1)
    expect(held.at(-1)!.seq).toBe(10_000)
    expect(history.recent().map((s) => s.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 9_901 + i))
    const { keepsOneIn, fullFrom } = history.thinning()!
    expect(fullFrom).toBe(99_010)
    expect(keepsOneIn).toBe(128)
    // the thinned part is evenly spaced: one in `keepsOneIn`, from the first retired sample on
    const older = held.slice(0, held.length - 100).map((s) => s.seq)
    expect(older).toEqual(older.map((_, i) => 1 + i * keepsOneIn))
    expect(history.evictedSeq).toBe(9_900)
  })

  test('holds every sample while they fit', () => {
    const history = new SampleHistory(Infinity)
    for (let seq = 1; seq <= 50; seq++) history.push(sample(seq, 2))
    expect(history.toArray().map((s) => s.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(history.thinning()).toBeNull()
    expect(history.evictedSeq).toBe(-1)
  })
})
