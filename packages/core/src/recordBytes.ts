import type { EventRecord, LayerRecord, SampleRecord } from './schema.js'

// Rough sizes of parsed records in a JS heap (objects, boxed numbers, strings); they only need to be
// proportional to the truth for byte budgets to bound memory.
const RECORD_BYTES = 160
const LAYER_BYTES = 200
const NUMBER_BYTES = 8
const STRING_BYTES = 40

/** Estimated heap bytes of a sample: grows with its layers and their histogram bins. */
export function sampleBytes(sample: SampleRecord): number {
  let bytes = RECORD_BYTES
  for (const layer of sample.layers) bytes += LAYER_BYTES + 2 * layer.name.length + NUMBER_BYTES * layer.hist.counts.length
  for (const name in sample.scalars ?? {}) bytes += NUMBER_BYTES + 2 * name.length
  return bytes
}

/** Estimated heap bytes of an event: its per-row counts can outweigh the rest. */
export function eventBytes(event: EventRecord): number {
  return RECORD_BYTES + 2 * event.layer.length + NUMBER_BYTES * (event.rows?.length ?? 0)
}

/** Estimated heap bytes of a layer record: its aliases can outweigh the rest. */
export function layerChangeBytes(change: LayerRecord): number {
  let bytes = RECORD_BYTES + 2 * (change.layer.length + change.reason.length)
  if (change.info) {
    bytes += LAYER_BYTES + NUMBER_BYTES * change.info.shape.length
    for (const alias of change.info.aliases ?? []) bytes += STRING_BYTES + 2 * alias.length
  }
  return bytes
}
