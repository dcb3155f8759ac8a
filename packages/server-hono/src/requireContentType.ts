import type { MiddlewareHandler } from 'hono'

/**
 * Answers 415 unless the body's media type (parameters such as `charset` aside) is `mediaType`.
 *
 * Beyond naming the wire format, this closes the door to cross-site POSTs: a page on another origin may
 * send `text/plain`, a form type or no type at all without asking, but any other type makes the browser
 * ask the server first (a CORS preflight), which it refuses unless CORS is open to that page.
 * @example app.post('/api/ingest', requireContentType('application/x-ndjson'), handler)
 */
export function requireContentType(mediaType: string): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('content-type')
    if (header?.split(';', 1)[0]!.trim().toLowerCase() !== mediaType)
      return c.json({ error: `Content-Type must be ${mediaType}, got ${header === undefined ? 'none' : JSON.stringify(header)}` }, 415)
    await next()
  }
}
