import { describe, expect, test } from 'vitest'
import { VALID_LINES, invalidVectors, validRecords } from '../../../test/support/vectors.js'
import { formatNdjsonError, parseNdjson } from './parseNdjson.js'
import { isValidRunId, validateRecord } from './validateRecord.js'

describe('shared vectors', () => {
  test.each(VALID_LINES.map((line) => [JSON.parse(line).type, line]))('valid %s record passes', (_, line) => {
    expect(validateRecord(JSON.parse(line))).toMatchObject({ ok: true })
  })

  test.each(invalidVectors().map((v) => [v.case, v]))('%s is rejected at its field', (_, vector) => {
    const result = validateRecord(vector.record)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.path).toBe(vector.path)
  })
})

describe('parseNdjson', () => {
  const [run, sample] = VALID_LINES

  test('parses every line and skips blank ones', () => {
    const result = parseNdjson(`${run}\n\n${sample}\n`)
    expect(result.ok && result.records.map((r) => r.seq)).toEqual([0, 1])
  })

  test('names the line and the field of the first bad record', () => {
    const bad = JSON.parse(sample!)
    bad.layers[1].nnz = 'many'
    const result = parseNdjson(`${run}\n${sample}\n${JSON.stringify(bad)}\n`)
    expect(result.ok).toBe(false)
    if (!result.ok)
      expect(formatNdjsonError(result.error)).toBe('line 3, field "layers[1].nnz": expected an integer ≥ 0, got "many"')
  })

  test('says which line held each record', () => {
    const result = parseNdjson(`\n${run}\n\n${sample}`)
    expect(result.ok && result.lines).toEqual([2, 4])
  })

  test('names the field of a NaN or Infinity literal, which JSON cannot carry', () => {
    const result = parseNdjson(`${run}\n${sample!.replace('"cost_ms":0.42', '"cost_ms":NaN')}`)
    expect(!result.ok && formatNdjsonError(result.error)).toBe('line 2, field "cost_ms": NaN is not valid JSON (JSON numbers are finite)')
    const hist = parseNdjson(sample!.replace('"lo":-1', '"lo":-Infinity'))
    expect(!hist.ok && hist.error).toEqual({ line: 1, path: 'layers[0].hist.lo', message: '-Infinity is not valid JSON (JSON numbers are finite)' })
  })

  test('1e999 is JSON, reads as Infinity and is refused as not finite', () => {
    const result = parseNdjson(sample!.replace('"cost_ms":0.42', '"cost_ms":1e999'))
    expect(!result.ok && formatNdjsonError(result.error)).toBe('line 1, field "cost_ms": expected a finite number, got Infinity')
  })

  test('reports malformed JSON with its line', () => {
    const result = parseNdjson(`${run}\n{"type":"sample",`)
    expect(!result.ok && result.error).toMatchObject({ line: 2, path: '' })
    if (!result.ok) expect(result.error.message).toMatch(/^not valid JSON/)
  })
})

test('fields and types named like Object.prototype properties are not mistaken for the schema', () => {
  const [, , event] = VALID_LINES
  expect(validateRecord({ ...JSON.parse(event!), toString: 'x' })).toEqual({ ok: false, path: 'toString', message: 'is not a field of this record' })
  expect(validateRecord({ type: 'constructor' })).toEqual({
    ok: false, path: 'type', message: 'expected one of "run", "sample", "event", "sampler", "layer", "metric", "end", got "constructor"',
  })
})

describe('the schema library answers as the hand-written checks did', () => {
  const [run, sample] = validRecords<Record<string, any>>()

  test('every refusal reads as ours, never as a library default', () => {
    for (const vector of invalidVectors()) {
      const result = validateRecord(vector.record)
      expect(!result.ok && result.message).toMatch(/^(expected |is missing$|is not a field of this record$|must |sum |unsupported schema version )/)
    }
  })

  test('an array is not an object, though it has keys', () => {
    expect(validateRecord({ ...run, sampler: [10] })).toEqual({ ok: false, path: 'sampler', message: 'expected an object, got an array' })
    expect(validateRecord({ ...run, algorithm: { name: 'SET', params: [1] } })).toEqual({
      ok: false, path: 'algorithm.params', message: 'expected an object, got an array',
    })
  })

  test('a parameter named like an Object.prototype property is checked like any other', () => {
    const params = JSON.parse('{"sparsity":0.9,"__proto__":[1]}')
    expect(validateRecord({ ...run, algorithm: { name: 'SET', params } })).toEqual({
      ok: false, path: 'algorithm.params.__proto__', message: 'expected a number, string, boolean or null, got an array',
    })
  })

  test('an oversized array is refused as a whole, before its items are visited', () => {
    sample!.layers[0].hist.counts = [-1, ...Array(1024).fill(0)]
    expect(validateRecord(sample)).toEqual({ ok: false, path: 'layers[0].hist.counts', message: 'expected between 1 and 1024 items, got 1025' })
  })

  test('the record returned is the value itself, not a copy', () => {
    const record = JSON.parse(VALID_LINES[2]!)
    const result = validateRecord(record)
    expect(result.ok && result.record).toBe(record)
  })
})

describe('layer records', () => {
  const lines = validRecords()
  const change = lines.find((r) => r.type === 'layer')!
  const edit = (patch: Record<string, unknown>) => ({ ...change, ...patch })

  test('info names the layer the record is about', () => {
    expect(validateRecord(edit({ info: { ...(change.info as object), name: 'fc1' } }))).toEqual({
      ok: false, path: 'info.name', message: 'must equal layer ("head"), got "fc1"',
    })
  })

  test('info null says the layer is no longer profiled', () => {
    expect(validateRecord(edit({ info: null, reason: 'module removed from the model' }))).toMatchObject({ ok: true })
  })

  test('reason and device count characters as Python does: code points, not UTF-16 units', () => {
    expect(validateRecord(edit({ reason: '🧪'.repeat(500) }))).toMatchObject({ ok: true }) // 1000 UTF-16 units
    expect(validateRecord(edit({ reason: '🧪'.repeat(501) }))).toEqual({
      ok: false, path: 'reason', message: `expected a non-empty string of at most 500 characters, got "${'🧪'.repeat(20)}…"`,
    })
    expect(validateRecord(edit({ info: { ...(change.info as object), device: 'é'.repeat(64) } }))).toMatchObject({ ok: true })
  })

  test('aliases and device are optional, as in logs of older profilers, and checked when present', () => {
    const [run] = lines
    const layers = (run!.layers as Record<string, unknown>[]).map(({ aliases: _a, device: _d, ...rest }) => rest)
    expect(validateRecord({ ...run, layers })).toMatchObject({ ok: true })
    expect(validateRecord({ ...run, layers: [{ ...layers[0], aliases: ['a', 'b', 'c', null] }] })).toEqual({
      ok: false, path: 'layers[0].aliases[3]', message: 'expected a non-empty string, got null',
    })
  })
})

test('run ids cannot climb out of the log directory', () => {
  expect(isValidRunId('20261129-231835-digits-mlp-rigl-3fd3')).toBe(true)
  for (const id of ['..', 'a/../b', '../etc', 'a/b', 'a\\b', '', '.hidden', 'x'.repeat(129)]) expect(isValidRunId(id)).toBe(false)
})
