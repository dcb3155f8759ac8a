import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { MAX_HISTOGRAM_BINS } from './schema.js'
import { toWireJsonSchema } from './toWireJsonSchema.js'

const FILE = fileURLToPath(new URL('../../../test/vectors/wire.schema.json', import.meta.url))

// `npm run schema` runs this test with UPDATE_SCHEMA=1, which writes the file instead of comparing.
test('test/vectors/wire.schema.json is the schema core declares (npm run schema rewrites it)', () => {
  const text = `${JSON.stringify(toWireJsonSchema(), null, 2)}\n`
  if (process.env.UPDATE_SCHEMA === '1') writeFileSync(FILE, text)
  expect(readFileSync(FILE, 'utf8'), 'out of date: run `npm run schema` and commit the file').toBe(text)
})

test('the JSON Schema states the limits, enums and optional fields of schema.ts', () => {
  const { $defs: defs } = toWireJsonSchema() as { $defs: Record<string, { properties: Record<string, unknown>; required: string[] }> }
  expect(defs.Histogram!.properties.counts).toEqual({
    type: 'array',
    items: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    minItems: 1,
    maxItems: MAX_HISTOGRAM_BINS,
  })
  expect(defs.LayerRecord!.properties.reason).toEqual({ type: 'string', minLength: 1, maxLength: 500 })
  expect(defs.SampleRecord!.properties.cost_ms).toEqual({ type: 'number', minimum: 0, maximum: Number.MAX_VALUE })
  expect(defs.SampleRecord!.properties.step_ms).toEqual({ anyOf: [{ type: 'number', minimum: 0, maximum: Number.MAX_VALUE }, { type: 'null' }] })
  expect(defs.RunRecord!.properties.seq).toEqual({ type: 'number', const: 0 })
  expect(defs.LayerRecord!.properties.info).toEqual({ anyOf: [{ $ref: '#/$defs/LayerInfo' }, { type: 'null' }] })
  expect(defs.LayerInfo!.required).toEqual(['name', 'shape', 'numel', 'dtype', 'format', 'mask_source'])
  expect(defs.AlgorithmInfo!.properties.params).toMatchObject({ type: 'object', additionalProperties: { anyOf: expect.any(Array) } })
})
