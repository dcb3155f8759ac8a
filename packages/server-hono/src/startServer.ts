import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { RunStore, type FlagThresholdsInput, type VegaLibraries } from '@sparselab-profiler/core'
import { RunJournal, loadLogdir, readRunFolder } from '@sparselab-profiler/runlog'
import { createApp, type DashboardAssets } from './createApp.js'

export interface StartServerOptions {
  /** @default 8080; 0 picks a free port */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /**
   * Every record received is on disk here before it is acknowledged: in the trainer's own
   * `<logdir>/<run>/records.ndjson` when the trainer logs here too, else in the server's journal
   * `<logdir>/<run>/received.ndjson` (see `RunJournal`). Every run folder here is restored at start.
   * @default './sparsity_runs'
   */
  logdir?: string
  /** Required for any non-loopback host. @default undefined */
  token?: string
  /** Origins allowed to embed the dashboard (CORS); every other origin is refused. @default [] */
  corsOrigins?: string[]
  /**
   * Names the server is reached by, beyond loopback names, IP addresses and `host`; any other `Host`
   * gets 403 (DNS rebinding). `'*'` allows every name. @default []
   */
  allowedHosts?: string[]
  /** Seconds of silence after which a run without an end record shows as interrupted. @default 30 */
  staleAfterSeconds?: number
  /** Flag thresholds over the defaults for every run (a run record's own win). @default {} */
  flagThresholds?: FlagThresholdsInput
  dashboard?: DashboardAssets
  /** The Vega builds an export inlines. @default runlog's `loadVegaLibraries()`, read at the first export */
  vegaLibraries?: VegaLibraries
  /** Used as is: it persists only through its own `persist` option. @default a store that journals to `logdir` */
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
  const logdir = options.logdir ?? './sparsity_runs'
  const journal = options.store ? undefined : new RunJournal(logdir)
  const store =
    options.store ?? new RunStore({ staleAfterMs: (options.staleAfterSeconds ?? 30) * 1000, flagThresholds: options.flagThresholds, persist: (record) => journal!.append(record) })
  // Restored before the server listens, so no new record can arrive ahead of a run's history.
  const { skipped } = await loadLogdir(store, logdir, { journal })
  for (const reason of skipped) console.warn(`sparselab-profiler: skipped a run log: ${reason}`)
  // Exports read the run's whole history from its longest log; the store only holds a window, which is
  // exported instead when no log reads to its end.
  const completeRun = async (run: string) => {
    const snapshot = await readRunFolder(join(logdir, run), { run, flagThresholds: options.flagThresholds }).catch(() => undefined)
    return snapshot && snapshot.lastSeq >= store.ack(run) ? snapshot : undefined
  }
  // The host bound to is a name the server is reached by (`--host lab-box --token T`).
  const allowedHosts = [...(options.allowedHosts ?? []), host]
  const app = createApp({ store, dashboard: options.dashboard, token: options.token, corsOrigins: options.corsOrigins, allowedHosts, completeRun, vegaLibraries: options.vegaLibraries })
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
            server!.close(() => {
              journal?.close()
              done()
            })
            ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
          }),
      })
    })
    server.once('error', (error) => {
      journal?.close()
      reject(error)
    })
  })
}
