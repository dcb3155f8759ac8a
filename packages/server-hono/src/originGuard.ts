import type { Context, MiddlewareHandler } from 'hono'

/** Options of {@link originGuard}. */
export interface OriginGuardOptions {
  /** Origins of other pages allowed to call the server: the same list CORS opens to. @default [] */
  corsOrigins?: readonly string[]
}

/** Methods that change nothing here; only they may come from another site without an Origin. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The origin a browser would give a page loaded from this request's own scheme, Host and port. */
function ownOrigin(c: Context): string | undefined {
  const url = new URL(c.req.url)
  try {
    return new URL(`${url.protocol}//${c.req.header('host') ?? url.host}`).origin
  } catch {
    return undefined // a Host no page could have been loaded from
  }
}

/** `origin` serialized as browsers do (lower case, no default port); undefined for `null` and other non-URLs. */
function normalizeOrigin(origin: string): string | undefined {
  try {
    const { origin: serialized } = new URL(origin)
    return serialized === 'null' ? undefined : serialized
  } catch {
    return undefined
  }
}

/**
 * Refuses (403) what a page on another origin asks of the server, CSRF included.
 *
 * - Any request with an `Origin` that is neither the server's own (scheme, Host and port of the request)
 *   nor one of `corsOrigins`. Browsers send `Origin` on every POST, and on a GET only in CORS mode
 *   (`fetch`, `EventSource`, module scripts from another origin). Such a GET's answer would be hidden from
 *   the page by CORS anyway, so refusing it costs no one anything and runs no handler for a reader that
 *   could never see the result (a `/stream` subscription, say). `Origin: null` (sandboxed frames, file
 *   pages) counts as foreign.
 * - A state-changing request (not GET/HEAD/OPTIONS) without `Origin` whose `Sec-Fetch-Site` says it
 *   comes from another site. `same-site` counts too: another port on localhost is the same site.
 *
 * Left alone: requests without `Origin` or fetch metadata (the Python sender, curl), and GETs without
 * `Origin` from anywhere (following a link to the dashboard, `<img>`/`<script>` tags). A tag cannot read
 * what it loads, and nothing here is script a page could run: the JSON routes begin with `{`.
 * @example app.use('*', originGuard({ corsOrigins: ['https://tool.example'] }))
 */
export function originGuard(options: OriginGuardOptions = {}): MiddlewareHandler {
  // Exact strings, as the CORS middleware compares them: an origin is allowed here only if CORS opens to it.
  const corsOrigins = new Set(options.corsOrigins ?? [])
  return async (c, next) => {
    const origin = c.req.header('origin')
    if (origin !== undefined) {
      const own = ownOrigin(c)
      const normalized = normalizeOrigin(origin)
      if (!corsOrigins.has(origin) && (own === undefined || normalized !== own)) {
        const hint = normalized ? ` To let pages there use the server, start it with --cors-origin ${normalized}.` : ''
        const error = `Blocked cross-origin request: Origin ${JSON.stringify(origin)} is neither this server's own origin (${own ?? 'unknown'}) nor one it was told to allow.`
        return c.json({ error: error + hint }, 403)
      }
    } else if (!SAFE_METHODS.has(c.req.method)) {
      const site = c.req.header('sec-fetch-site')
      if (site === 'cross-site' || site === 'same-site')
        return c.json({ error: `Blocked ${site} request: a ${c.req.method} from another site must carry an allowed Origin` }, 403)
    }
    await next()
  }
}
