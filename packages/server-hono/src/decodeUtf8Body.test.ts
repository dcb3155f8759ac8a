import { expect, test } from 'vitest'
import { decodeUtf8Body } from './decodeUtf8Body.js'

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((part) => (typeof part === 'string' ? [...new TextEncoder().encode(part)] : part)))
const invalidAt = (line: number) => ({ ok: false, error: { line, path: '', message: 'not valid UTF-8; NDJSON must be UTF-8 text' } })

test('decodes UTF-8, NUL and multi-byte characters included', () => {
  expect(decodeUtf8Body(bytes('{"name":"fc\u00e9 \u{1F600}"}\n', [0x00]))).toEqual({ ok: true, text: '{"name":"fc\u00e9 \u{1F600}"}\n\u0000' })
})

test('names the first line holding a byte sequence that is not UTF-8', () => {
  expect(decodeUtf8Body(bytes([0xff]))).toEqual(invalidAt(1))
  expect(decodeUtf8Body(bytes('a\nb\n', [0x63, 0xc3]))).toEqual(invalidAt(3)) // cut inside a two-byte character
  expect(decodeUtf8Body(bytes('a\n', [0xed, 0xa0, 0x80], '\n', [0xff]))).toEqual(invalidAt(2)) // an encoded surrogate
})
