import type { MiddlewareHandler } from 'hono'

/** Options of {@link hostGuard}. */
export interface HostGuardOptions {
  /**
   * Names the server answers to beyond the loopback names and IP addresses: `'lab-box'` that name,
   * `'.lab.example'` that domain and every name under it, `'*'` any name (turns the check off).
   * A port in an entry is ignored, as it is in the request.
   * @default []
   */
  allowedHosts?: readonly string[]
}

/** A `Host` value reduced to what is compared: the name lower-cased without port, brackets or final dot. */
interface HostName {
  name: string
  ip: boolean
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

/** Whether `text` (without brackets) is an IPv6 address, by the same URL parser a browser uses. */
function isIpv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return false
  try {
    new URL(`http://[${text}]/`)
    return true
  } catch {
    return false
  }
}

/**
 * The host part of a `Host` value (`name[:port]`, `[v6][:port]`, or a bare v6 address as some scripts
 * send it); undefined for anything else. A browser always sends the canonical form of the URL it
 * loaded, so only other clients ever reach the odd cases, and they could send any Host anyway.
 */
function parseHost(value: string): HostName | undefined {
  const text = value.trim()
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(text)
  if (bracketed) return isIpv6(bracketed[1]!) ? { name: bracketed[1]!.toLowerCase(), ip: true } : undefined
  if (isIpv6(text)) return { name: text.toLowerCase(), ip: true }
  const named = /^([^:[\]\s/?#@\\]+?)\.?(?::\d*)?$/.exec(text)
  if (!named) return undefined
  const name = named[1]!.toLowerCase()
  return { name, ip: IPV4.test(name) }
}

/** An `allowedHosts` entry as the browser would spell it in `Host` (lower case, punycode); throws on a non-name. */
function normalizeEntry(entry: string): string {
  // `*.lab.example` is read as `.lab.example`, the way people tend to write it.
  const subdomains = entry.startsWith('.') || entry.startsWith('*.')
  const rest = subdomains ? entry.slice(entry.indexOf('.') + 1) : entry
  if (rest === '' || /[\s/?#@\\]/.test(rest)) throw new Error(`allowedHosts: ${JSON.stringify(entry)} is not a host name`)
  let parsed: HostName | undefined
  try {
    // The URL parser turns a Unicode name into the punycode a browser puts in Host.
    parsed = parseHost(new URL(`http://${rest}/`).host)
  } catch {
    parsed = parseHost(rest) // a bare IPv6 address
  }
  if (!parsed) throw new Error(`allowedHosts: ${JSON.stringify(entry)} is not a host name`)
  return subdomains ? `.${parsed.name}` : parsed.name
}

/**
 * Refuses (403) every request whose `Host` is a name the server was not told it is reached by.
 *
 * DNS rebinding: a page at `http://attacker.example:8080` re-points its own name at 127.0.0.1, and the
 * browser, seeing one origin, lets the page read the local server. What gives it away is the `Host`
 * header, which still says `attacker.example`. Allowed without being named:
 * - IP addresses: rebinding needs a DNS name the attacker controls; a page whose origin is an IP
 *   address was served from that address and port, that is by this server.
 * - `localhost` and `*.localhost`: RFC 6761 reserves them for loopback, browsers resolve them to it
 *   without asking DNS, and no one can register a name under them to serve a page from.
 *
 * `startServer` adds the host it binds to, so `--host lab-box --token T` answers at `http://lab-box:8080`.
 * @example app.use('*', hostGuard({ allowedHosts: ['profiler.lab.example'] }))
 */
export function hostGuard(options: HostGuardOptions = {}): MiddlewareHandler {
  const entries = options.allowedHosts ?? []
  if (entries.includes('*')) return async (_c, next) => next()
  const exact = new Set<string>()
  const domains: string[] = []
  for (const entry of entries.map(normalizeEntry)) {
    if (entry.startsWith('.')) domains.push(entry)
    else exact.add(entry)
  }
  const allowed = ({ name, ip }: HostName) =>
    ip ||
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    exact.has(name) ||
    domains.some((domain) => name === domain.slice(1) || name.endsWith(domain))

  return async (c, next) => {
    // Without a Host header (app.request(), a runtime that keeps it in the URL) the URL holds it.
    const host = c.req.header('host') ?? new URL(c.req.url).host
    const parsed = parseHost(host)
    if (!parsed)
      return c.json({ error: `Blocked request: the Host header ${JSON.stringify(host)} is not host[:port]` }, 403)
    if (!allowed(parsed)) {
      const name = JSON.stringify(parsed.name)
      return c.json(
        {
          error:
            `Blocked request: this server is not reached by the name ${name} (Host ${JSON.stringify(host)}), so a page that ` +
            `re-pointed that name at it (DNS rebinding) cannot read it. If you open it by that name on purpose, ` +
            `start it with --allowed-host ${parsed.name} (option allowedHosts: [${name}]).`,
        },
        403,
      )
    }
    await next()
  }
}
