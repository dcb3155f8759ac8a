import { describe, expect, test } from 'vitest'
import { validateRecord, type Flag, type WireRecord } from '@sparselab-profiler/core'
import { wandbAlertVectors, wandbRestAlertVectors, wandbVectors } from '../../../test/support/vectors.js'
import { alertText, alertTitle, restAlert } from './flagAlert.js'
import { WandbRows, mergeBins } from './wandbRow.js'

describe('the shared vector test/vectors/wandb.json', () => {
  for (const vector of wandbVectors()) {
    test(vector.name, () => {
      const rows = new WandbRows({ every: vector.every, maxLayers: vector.max_layers })
      const records = vector.records.map((record) => {
        const checked = validateRecord(record)
        if (!checked.ok) throw new Error(`vector record invalid: ${JSON.stringify(checked)}`)
        return record as WireRecord
      })
      // Compared as JSON text: the edges must match numpy's bit for bit, not merely be close.
      expect(JSON.stringify(records.map((record) => rows.add(record)).filter((row) => row !== undefined))).toBe(JSON.stringify(vector.rows))
    })
  }
})

test('merging keeps every count and only original edges', () => {
  const counts = Array.from({ length: 1023 }, (_, i) => i % 7)
  const edges = Array.from({ length: 1024 }, (_, i) => i / 8)
  const merged = mergeBins(counts, edges)
  expect(merged.counts).toHaveLength(512)
  expect(merged.counts.reduce((a, b) => a + b)).toBe(counts.reduce((a, b) => a + b))
  expect(merged.edges.every((edge) => edges.includes(edge))).toBe(true)
  expect([merged.edges[0], merged.edges.at(-1)]).toEqual([0, 1023 / 8])
  expect(mergeBins([1, 2], [0, 1, 2])).toEqual({ counts: [1, 2], edges: [0, 1, 2] })
})

test('every must be a whole number of samples', () => {
  expect(() => new WandbRows({ every: 0 })).toThrow('every must be a whole number ≥ 1, got 0')
})

test('alert titles and texts are the vector\'s', () => {
  for (const { flag, title, text } of wandbAlertVectors<Flag>()) expect({ title: alertTitle(flag), text: alertText(flag) }).toEqual({ title, text })
})

test('the alert summing up the critical flags past the limit is the vector\'s', () => {
  for (const { flags, title, text } of wandbRestAlertVectors<Flag>()) expect(restAlert(flags)).toEqual({ title, text })
})
