/**
 * A value as an error message shows it: strings quoted and cut at 40 characters, containers by kind.
 * @example describe([1, 2]) // 'an array'
 */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'object') return 'an object'
  return String(value)
}
