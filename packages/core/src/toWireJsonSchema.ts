/**
 * The JSON Schema of a wire record, generated from schema.ts for the Python tests and any other language;
 * `npm run schema` writes it to test/vectors/wire.schema.json. Not exported from index.ts, so core's
 * bundle never holds @valibot/to-json-schema (a dev dependency).
 */
import { toJsonSchemaDefs, type JsonSchema } from '@valibot/to-json-schema'
import {
  AlgorithmInfoSchema,
  EndRecordSchema,
  EventRecordSchema,
  FlagThresholdsSchema,
  HistogramSchema,
  LayerInfoSchema,
  LayerRecordSchema,
  LayerSampleSchema,
  MetricRecordSchema,
  RECORD_SCHEMAS,
  RunRecordSchema,
  SampleRecordSchema,
  SamplerConfigSchema,
  SamplerRecordSchema,
  SCHEMA_VERSION,
} from './schema.js'

// Named after the TypeScript types; a schema used twice (LayerInfo) is one definition.
const DEFINITIONS = {
  RunRecord: RunRecordSchema,
  SampleRecord: SampleRecordSchema,
  EventRecord: EventRecordSchema,
  SamplerRecord: SamplerRecordSchema,
  LayerRecord: LayerRecordSchema,
  MetricRecord: MetricRecordSchema,
  EndRecord: EndRecordSchema,
  LayerInfo: LayerInfoSchema,
  AlgorithmInfo: AlgorithmInfoSchema,
  SamplerConfig: SamplerConfigSchema,
  LayerSample: LayerSampleSchema,
  FlagThresholds: FlagThresholdsSchema,
  Histogram: HistogramSchema,
}
const DEFINITION_OF: Record<keyof typeof RECORD_SCHEMAS, keyof typeof DEFINITIONS> = {
  run: 'RunRecord',
  sample: 'SampleRecord',
  event: 'EventRecord',
  sampler: 'SamplerRecord',
  layer: 'LayerRecord',
  metric: 'MetricRecord',
  end: 'EndRecord',
}

/**
 * The wire record schema as JSON Schema (draft 2020-12): each record type under `$defs`, chosen by `type`
 * with if/then so that a validator names the failing field, not "none of the records".
 * @example new Ajv2020().compile(toWireJsonSchema())(record)
 */
export function toWireJsonSchema(): JsonSchema {
  const $defs = toJsonSchemaDefs(DEFINITIONS, {
    target: 'draft-2020-12',
    // A field's pipe is converted from its last schema: the guards before it (a JSON object, an array within
    // bounds) say what JSON Schema's `type`, `minItems` and `maxItems` say.
    typeMode: 'output',
    // `check` counts code points (restated as `maxLength` metadata, which counts code points too);
    // `raw_check` holds the cross-field rules, which JSON Schema cannot state.
    ignoreActions: ['check', 'raw_check'],
    // JSON has no Infinity, but 1e999 reads as one in JavaScript and Python: finite is within ±MAX_VALUE.
    overrideAction: ({ valibotAction, jsonSchema }) =>
      valibotAction.type === 'finite' ? { ...jsonSchema, minimum: jsonSchema.minimum ?? -Number.MAX_VALUE, maximum: Number.MAX_VALUE } : undefined,
  })
  const types = Object.keys(DEFINITION_OF) as (keyof typeof DEFINITION_OF)[]
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $comment:
      'Generated from packages/core/src/schema.ts by `npm run schema`; do not edit. The cross-field rules of ' +
      'packages/core/src/crossFieldRules.ts are not stated here.',
    title: `SparseLab Profiler wire record, schema v${SCHEMA_VERSION}`,
    type: 'object',
    required: ['type'],
    properties: { type: { enum: types } },
    allOf: types.map((type) => ({ if: { properties: { type: { const: type } } }, then: { $ref: `#/$defs/${DEFINITION_OF[type]}` } })),
    $defs,
  }
}
