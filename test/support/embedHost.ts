import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'

/** A page of another origin that embeds the dashboard: `html` at `/`, the dashboard's embed build at `/embed.js`. */
export async function serveEmbedHost(html: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const embedJs = readFileSync(createRequire(import.meta.url).resolve('@sparselab-profiler/dashboard-preact/embed'), 'utf8')
  const host = createServer((req, res) => {
    const isScript = req.url?.startsWith('/embed.js')
    res.writeHead(200, { 'Content-Type': isScript ? 'text/javascript' : 'text/html' })
    res.end(isScript ? embedJs : html)
  })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(host.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => host.close(() => resolve())),
  }
}
