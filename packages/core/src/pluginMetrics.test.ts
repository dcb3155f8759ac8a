import { describe, expect, test } from 'vitest'
import { validRecords } from '../../../test/support/vectors.js'
import { MAX_METRICS, MAX_SCALAR_NAME_CHARS } from './index.js'
import { parseNdjson } from './parseNdjson.js'
import { toWireJsonSchema } from './toWireJsonSchema.js'
import { validateRecord } from './validateRecord.js'

// `metrics` on a layer sample is an optional addition to schema v1: logs written before it stay valid.
const records = validRecords<Record<string, any>>()
const [oldSample, sample] = [records[1]!, records[4]!]
/** The seq-4 sample with `metrics` of layer `i` replaced (undefined: removed). */
const withMetrics = (metrics: unknown, i = 0) => ({
  ...sample,
  layers: sample.layers.map((layer: Record<string, unknown>, j: number) => {
    if (j !== i) return layer
    const { metrics: _, ...rest } = layer
    return metrics === undefined ? rest : { ...rest, metrics }
  }),
})

describe('plugin metrics on layer samples', () => {
  test('are optional, and each is a finite number or null', () => {
    expect(oldSample.layers.every((l: object) => !('metrics' in l))).toBe(true)
    expect(validateRecord(oldSample)).toMatchObject({ ok: true })
    expect(sample.layers.map((l: { metrics: unknown }) => l.metrics)).toEqual([
      { mean_abs_active: 0.4375, active: 4 },
      { mean_abs_active: null, active: 6 },
    ])
    expect(validateRecord(sample)).toMatchObject({ ok: true })
    expect(validateRecord(withMetrics({}))).toMatchObject({ ok: true })
    expect(validateRecord(withMetrics(undefined, 1))).toMatchObject({ ok: true }) // one layer with, one without
  })

  test('say which layer and which value is wrong, and why', () => {
    expect(validateRecord(withMetrics({ mean_abs_active: 0.5, active: '4' }))).toEqual({
      ok: false, path: 'layers[0].metrics.active', message: 'expected a finite number, got "4"',
    })
    expect(validateRecord(withMetrics({ active: 1e999 }, 1))).toEqual({
      ok: false, path: 'layers[1].metrics.active', message: 'expected a finite number, got Infinity',
    })
    expect(validateRecord(withMetrics({ active: true }, 1))).toEqual({
      ok: false, path: 'layers[1].metrics.active', message: 'expected a finite number, got true',
    })
    expect(validateRecord(withMetrics(null))).toEqual({ ok: false, path: 'layers[0].metrics', message: 'expected an object, got null' })
    expect(validateRecord(withMetrics([1, 2], 1))).toMatchObject({ ok: false, path: 'layers[1].metrics' })
  })

  test(`hold at most ${MAX_METRICS} names of 1 to ${MAX_SCALAR_NAME_CHARS} characters, checked before the values`, () => {
    const names = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, 'not even a number']))
    expect(validateRecord(withMetrics(names(MAX_METRICS + 1), 1))).toEqual({
      ok: false, path: 'layers[1].metrics', message: `expected at most ${MAX_METRICS} keys, got ${MAX_METRICS + 1}`,
    })
    expect(validateRecord(withMetrics({ '': 1 }))).toEqual({
      ok: false, path: 'layers[0].metrics', message: `expected keys of 1 to ${MAX_SCALAR_NAME_CHARS} characters, got ""`,
    })
    expect(validateRecord(withMetrics({ ['m'.repeat(MAX_SCALAR_NAME_CHARS + 1)]: 1 }))).toMatchObject({ ok: false, path: 'layers[0].metrics' })
    // characters are code points, as in Python: 62 emoji and 2 digits are 64 characters (128 UTF-16 units)
    const full = Object.fromEntries(Array.from({ length: MAX_METRICS }, (_, i) => [`${'📏'.repeat(MAX_SCALAR_NAME_CHARS - 2)}${String(i).padStart(2, '0')}`, i]))
    expect(validateRecord(withMetrics(full))).toMatchObject({ ok: true })
  })

  test('a NaN metric cannot be written as a literal: the parser names the field', () => {
    const line = JSON.stringify(sample).replace('"active":6', '"active":NaN')
    const result = parseNdjson(`${line}\n`)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error.path).toBe('layers[1].metrics.active')
  })

  test('the JSON Schema states the field and its limits', () => {
    const { $defs: defs } = toWireJsonSchema() as { $defs: Record<string, { properties: Record<string, any>; required: string[] }> }
    expect(defs.LayerSample!.properties.metrics).toMatchObject({
      type: 'object',
      maxProperties: MAX_METRICS,
      propertyNames: { type: 'string', minLength: 1, maxLength: MAX_SCALAR_NAME_CHARS },
      additionalProperties: { anyOf: [{ type: 'number' }, { type: 'null' }] },
    })
    expect(defs.LayerSample!.required).not.toContain('metrics')
  })
})
