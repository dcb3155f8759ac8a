import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { formatNdjsonError, parseNdjson } from './parseNdjson.js'
import { isValidRunId, validateRecord } from './validateRecord.js'

const vectors = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../test/vectors/${name}`, import.meta.url)), 'utf8').trim().split('\n')

describe('shared vectors', () => {
  test.each(vectors('valid.ndjson').map((line) => [JSON.parse(line).type, line]))('valid %s record passes', (_, line) => {
    expect(validateRecord(JSON.parse(line))).toMatchObject({ ok: true })
  })

  const invalid = vectors('invalid.ndjson').map((line) => JSON.parse(line) as { case: string; path: string; record: unknown })
  test.each(invalid.map((v) => [v.case, v]))('%s is rejected at its field', (_, vector) => {
    const result = validateRecord(vector.record)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.path).toBe(vector.path)
  })
})

describe('parseNdjson', () => {
  const [run, sample] = vectors('valid.ndjson')

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
  const [, , event] = vectors('valid.ndjson')
  expect(validateRecord({ ...JSON.parse(event!), toString: 'x' })).toEqual({ ok: false, path: 'toString', message: 'is not a field of this record' })
  expect(validateRecord({ type: 'constructor' })).toEqual({
    ok: false, path: 'type', message: 'expected one of "run", "sample", "event", "sampler", "end", got "constructor"',
  })
})

test('run ids cannot climb out of the log directory', () => {
  expect(isValidRunId('20261129-231835-digits-mlp-rigl-3fd3')).toBe(true)
  for (const id of ['..', 'a/../b', '../etc', 'a/b', 'a\\b', '', '.hidden', 'x'.repeat(129)]) expect(isValidRunId(id)).toBe(false)
})
