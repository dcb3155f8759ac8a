import { describe, expect, test } from 'vitest'
import { validRecords } from '../../../test/support/vectors.js'
import { parseNdjson } from './parseNdjson.js'
import { MAX_SCALAR_NAME_CHARS, MAX_SCALARS } from './schema.js'
import { toWireJsonSchema } from './toWireJsonSchema.js'
import { validateRecord } from './validateRecord.js'

// Both fields are optional additions to schema v1: logs written before them stay valid.
const records = validRecords<Record<string, any>>()
const [run, oldSample, sample] = [records[0]!, records[1]!, records[4]!]

describe('training scalars on samples', () => {
  test('are optional, and each is a finite number or null', () => {
    expect(oldSample).not.toHaveProperty('scalars')
    expect(validateRecord(oldSample)).toMatchObject({ ok: true })
    expect(sample.scalars).toEqual({ loss: 0.6931, accuracy: 0.875, lr: null })
    expect(validateRecord({ ...sample, scalars: {} })).toMatchObject({ ok: true })
  })

  test('say which value is wrong, and why', () => {
    expect(validateRecord({ ...sample, scalars: { loss: '0.69' } })).toEqual({
      ok: false, path: 'scalars.loss', message: 'expected a finite number, got "0.69"',
    })
    expect(validateRecord({ ...sample, scalars: { loss: 1e999 } })).toEqual({
      ok: false, path: 'scalars.loss', message: 'expected a finite number, got Infinity',
    })
    expect(validateRecord({ ...sample, scalars: null })).toEqual({ ok: false, path: 'scalars', message: 'expected an object, got null' })
  })

  test(`hold at most ${MAX_SCALARS} names of 1 to ${MAX_SCALAR_NAME_CHARS} characters, checked before the values`, () => {
    const names = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, 'not even a number']))
    expect(validateRecord({ ...sample, scalars: names(MAX_SCALARS + 1) })).toEqual({
      ok: false, path: 'scalars', message: `expected at most ${MAX_SCALARS} keys, got ${MAX_SCALARS + 1}`,
    })
    expect(validateRecord({ ...sample, scalars: { '': 1 } })).toEqual({
      ok: false, path: 'scalars', message: `expected keys of 1 to ${MAX_SCALAR_NAME_CHARS} characters, got ""`,
    })
    // characters are code points, as in Python: 62 emoji and 2 digits are 64 characters (128 UTF-16 units)
    const full = Object.fromEntries(Array.from({ length: MAX_SCALARS }, (_, i) => [`${'🧪'.repeat(MAX_SCALAR_NAME_CHARS - 2)}${String(i).padStart(2, '0')}`, i]))
    expect(validateRecord({ ...sample, scalars: full })).toMatchObject({ ok: true })
  })

  test('a NaN loss cannot be written as a literal: the parser names the field', () => {
    const line = JSON.stringify(sample).replace('"loss":0.6931', '"loss":NaN')
    const result = parseNdjson(`${line}\n`)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error.path).toBe('scalars.loss')
  })
})

describe('the overhead budget in the run record', () => {
  test('is a fraction, null when the adaptive sampler is off, or absent in older logs', () => {
    expect(run.sampler).toEqual({ every: 10, budget: 0.01 })
    expect(validateRecord({ ...run, sampler: { every: 10, budget: null } })).toMatchObject({ ok: true })
    expect(validateRecord({ ...run, sampler: { every: 10 } })).toMatchObject({ ok: true })
    expect(validateRecord({ ...run, sampler: { every: 10, budget: -0.01 } })).toEqual({
      ok: false, path: 'sampler.budget', message: 'expected a number ≥ 0, got -0.01',
    })
  })
})

test('the JSON Schema states both fields and the scalar limits', () => {
  const { $defs: defs } = toWireJsonSchema() as { $defs: Record<string, { properties: Record<string, any>; required: string[] }> }
  expect(defs.SampleRecord!.properties.scalars).toMatchObject({
    type: 'object',
    maxProperties: MAX_SCALARS,
    propertyNames: { type: 'string', minLength: 1, maxLength: MAX_SCALAR_NAME_CHARS },
    additionalProperties: { anyOf: [{ type: 'number' }, { type: 'null' }] },
  })
  expect(defs.SampleRecord!.required).not.toContain('scalars')
  expect(defs.SamplerConfig!.properties.budget).toEqual({ anyOf: [{ type: 'number', minimum: 0, maximum: Number.MAX_VALUE }, { type: 'null' }] })
  expect(defs.SamplerConfig!.required).toEqual(['every'])
})
