import type { MiddlewareHandler } from 'hono'

/**
 * Answers 400 with `message` unless the body parses as JSON. `validator('json')` answers a malformed
 * body itself, with a message of its own; parsed here first, it reaches the validator only as JSON,
 * read again from Hono's body cache.
 * @example app.post('/export', requireContentType('application/json'), requireJsonBody('body must be JSON'), validator('json', check), handler)
 */
export function requireJsonBody(message: string): MiddlewareHandler {
  return async (c, next) => {
    try {
      await c.req.json()
    } catch {
      return c.json({ error: message }, 400)
    }
    await next()
  }
}
