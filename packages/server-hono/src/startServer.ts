import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { RECORDS_FILE, readRunLog } from '@sparselab-profiler/export'
import { RunStore } from '@sparselab-profiler/core'
import { createApp, type DashboardAssets } from './createApp.js'
import { loadLogdir } from './loadLogdir.js'

export interface StartServerOptions {
  /** @default 8080; 0 picks a free port */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** Past runs under this folder are loaded at start. @default './sparsity_runs' */
  logdir?: string
  /** Required for any non-loopback host. @default undefined */
  token?: string
  /** Origins allowed to embed the dashboard (CORS). @default [] */
  corsOrigins?: string[]
  /** Seconds of silence after which a run without an end record shows as interrupted. @default 30 */
  staleAfterSeconds?: number
  dashboard?: DashboardAssets
  store?: RunStore
}

export interface RunningServer {
  url: string
  port: number
  store: RunStore
  close(): Promise<void>
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

/**
 * Starts the server on Node.js and resolves once it listens.
 * @example const server = await startServer({ port: 8080, logdir: './sparsity_runs' })
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  if (!LOOPBACK.has(host) && !options.token)
    throw new Error(`refusing to listen on ${host} without a token: pass --token so only people who have it can read or send runs`)
  const store = options.store ?? new RunStore({ staleAfterMs: (options.staleAfterSeconds ?? 30) * 1000 })
  const { skipped } = loadLogdir(store, options.logdir ?? './sparsity_runs')
  for (const reason of skipped) console.warn(`sparselab-profiler: skipped a run log: ${reason}`)
  const logdir = options.logdir ?? './sparsity_runs'
  // Exports read the whole run log when the training writes it here; the store only holds a window.
  const completeRun = (run: string) => {
    const log = join(logdir, run, RECORDS_FILE)
    if (!existsSync(log)) return undefined
    try {
      const snapshot = readRunLog(log)
      return snapshot.lastSeq >= store.ack(run) ? snapshot : undefined
    } catch {
      return undefined
    }
  }
  const app = createApp({ store, dashboard: options.dashboard, token: options.token, corsOrigins: options.corsOrigins, completeRun })
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined = undefined
    server = serve({ fetch: app.fetch, port: options.port ?? 8080, hostname: host }, (info) => {
      const shown = host.includes(':') ? `[${host}]` : host
      resolve({
        url: `http://${shown}:${info.port}`,
        port: info.port,
        store,
        close: () =>
          new Promise<void>((done) => {
            server!.close(() => done())
            ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
          }),
      })
    })
    server.once('error', reject)
  })
}
