// Server half of test/bench/ingest.mjs: the real startServer in a process of its own (the bench pins it
// to one core with taskset), answering the bench's questions over the IPC channel so that no bench-only
// route enters the product.   Spawned by ingest.mjs; not meant to be run by hand.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from '@sparselab-profiler/server-hono'

if (!process.send) throw new Error('ingestServer.mjs is spawned by test/bench/ingest.mjs with an IPC channel')
const logdir = mkdtempSync(join(tmpdir(), 'slp-ingest-bench-'))
const server = await startServer({ port: 0, logdir })

process.on('message', async (message) => {
  if (message.type === 'stats') {
    // A full collection first (the bench runs this process with --expose-gc), so heapUsed is live data.
    if (message.gc && globalThis.gc) globalThis.gc()
    const retained = {}
    for (const { run } of server.store.listRuns()) {
      const snapshot = server.store.snapshot(run)
      retained[run] = { samples: snapshot?.samples.length ?? 0, events: snapshot?.events.length ?? 0 }
    }
    // What the server wrote under its logdir (a journal of received records, where the build has one).
    let logdirBytes = 0
    for (const entry of readdirSync(logdir, { recursive: true })) {
      const stat = statSync(join(logdir, entry), { throwIfNoEntry: false })
      if (stat?.isFile()) logdirBytes += stat.size
    }
    process.send({ type: 'stats', id: message.id, memory: process.memoryUsage(), cpu: process.cpuUsage(), retained, logdirBytes })
  } else if (message.type === 'close') {
    await server.close()
    rmSync(logdir, { recursive: true, force: true })
    process.exit(0)
  }
})
process.send({ type: 'ready', url: server.url, pid: process.pid })
