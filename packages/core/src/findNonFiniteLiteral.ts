/** Where a line that is not JSON writes `NaN`, `Infinity` or `-Infinity` as a value (Python's json.dumps does by default). */
export interface NonFiniteLiteral {
  /** Field path in the validator's notation (`layers[0].sparsity`); '' when the whole line is the literal. */
  path: string
  literal: 'NaN' | 'Infinity' | '-Infinity'
}

const LITERALS = ['-Infinity', 'Infinity', 'NaN'] as const
// Stands in for a literal so the rest of the line can still be parsed; found again by value.
const MARKER = '\u0000sparselab-profiler:non-finite:'

/**
 * Finds the first `NaN`/`Infinity`/`-Infinity` written outside a string in a line that JSON.parse
 * rejected, so the error can name the field. Returns null when the line is broken in some other way.
 * @example findNonFiniteLiteral('{"a":{"b":[1,NaN]}}') // { path: 'a.b[1]', literal: 'NaN' }
 */
export function findNonFiniteLiteral(line: string): NonFiniteLiteral | null {
  let replaced = ''
  let inString = false
  let found = false
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!
    if (inString) {
      if (char === '\\') {
        replaced += char + (line[i + 1] ?? '')
        i++
        continue
      }
      if (char === '"') inString = false
      replaced += char
      continue
    }
    if (char === '"') inString = true
    const literal = LITERALS.find((l) => line.startsWith(l, i))
    if (literal) {
      replaced += JSON.stringify(MARKER + literal)
      i += literal.length - 1
      found = true
      continue
    }
    replaced += char
  }
  if (!found) return null
  let value: unknown
  try {
    value = JSON.parse(replaced)
  } catch {
    return null
  }
  return markerIn(value)
}

// Depth-first in document order, without recursion: a hostile line may nest arrays a million deep.
function markerIn(root: unknown): NonFiniteLiteral | null {
  const stack: [unknown, string][] = [[root, '']]
  while (stack.length > 0) {
    const [value, path] = stack.pop()!
    if (typeof value === 'string' && value.startsWith(MARKER)) {
      const literal = LITERALS.find((l) => value === MARKER + l)
      if (literal) return { path, literal }
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}[${i}]`])
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value)
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i]!
        stack.push([item, path ? `${path}.${key}` : key])
      }
    }
  }
  return null
}
