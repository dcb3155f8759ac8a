import type { NdjsonError } from '@sparselab-profiler/core'

const strict = new TextDecoder('utf-8', { fatal: true })
const NEWLINE = 0x0a

/**
 * Decodes a request body as UTF-8, refusing invalid bytes instead of replacing them with U+FFFD (which
 * would store altered names); the error names the first line that holds an invalid sequence.
 * @example decodeUtf8Body(new Uint8Array([0x61, 0x0a, 0xff])) // { ok: false, error: { line: 2, path: '', message: 'not valid UTF-8; NDJSON must be UTF-8 text' } }
 */
export function decodeUtf8Body(bytes: Uint8Array): { ok: true; text: string } | { ok: false; error: NdjsonError } {
  try {
    return { ok: true, text: strict.decode(bytes) }
  } catch {
    return { ok: false, error: { line: firstInvalidLine(bytes), path: '', message: 'not valid UTF-8; NDJSON must be UTF-8 text' } }
  }
}

// A newline byte never occurs inside a multi-byte UTF-8 character, so each line can be checked alone.
function firstInvalidLine(bytes: Uint8Array): number {
  let line = 1
  let start = 0
  for (let newline = bytes.indexOf(NEWLINE); newline >= 0; newline = bytes.indexOf(NEWLINE, start)) {
    if (!isUtf8(bytes.subarray(start, newline))) return line
    start = newline + 1
    line++
  }
  return line
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes)
    return true
  } catch {
    return false
  }
}
