import type { WireRecord } from './schema.js'
import { findNonFiniteLiteral } from './findNonFiniteLiteral.js'
import { validateRecord } from './validateRecord.js'

/** A rejected NDJSON body: `line` is 1-based, `path` the field inside that line ('' for the whole line). */
export interface NdjsonError {
  line: number
  path: string
  message: string
}

/** On success, `lines[i]` is the 1-based line that held `records[i]`. */
export type NdjsonParse = { ok: true; records: WireRecord[]; lines: number[] } | { ok: false; error: NdjsonError }

/** Renders an error as one sentence a user can act on. */
export function formatNdjsonError(error: NdjsonError): string {
  return error.path ? `line ${error.line}, field "${error.path}": ${error.message}` : `line ${error.line}: ${error.message}`
}

/**
 * Parses and validates every line of an NDJSON body; all or nothing, so a bad line never leaves
 * half a batch behind. Blank lines are skipped.
 * @example parseNdjson('{"type":"end",...}\n') // { ok: true, records: [...] }
 */
export function parseNdjson(text: string): NdjsonParse {
  const records: WireRecord[] = []
  const recordLines: number[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim()
    if (raw === '') continue
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      const literal = findNonFiniteLiteral(raw)
      if (literal)
        return { ok: false, error: { line: i + 1, path: literal.path, message: `${literal.literal} is not valid JSON (JSON numbers are finite)` } }
      return { ok: false, error: { line: i + 1, path: '', message: `not valid JSON (${(e as Error).message})` } }
    }
    const result = validateRecord(value)
    if (!result.ok) return { ok: false, error: { line: i + 1, path: result.path, message: result.message } }
    records.push(result.record)
    recordLines.push(i + 1)
  }
  return { ok: true, records, lines: recordLines }
}
