import type { WireRecord } from '@sparselab-profiler/core'

const texts = new WeakMap<WireRecord, string>()

/** A stored record's JSON text, made once however many writers need it (the journal, every SSE client). */
export function recordJson(record: WireRecord): string {
  let text = texts.get(record)
  if (text === undefined) {
    text = JSON.stringify(record)
    texts.set(record, text)
  }
  return text
}
