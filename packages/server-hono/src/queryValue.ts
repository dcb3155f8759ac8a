/**
 * A query parameter as `c.req.query(name)` reads it, from what `validator('query')` hands over: the
 * first of repeated values (`?points=5&points=9` is 5), `undefined` when absent.
 * @example queryValue({ points: ['5', '9'] }, 'points') // '5'
 */
export function queryValue(query: Record<string, string | string[]>, name: string): string | undefined {
  const value = query[name]
  return Array.isArray(value) ? value[0] : value
}
