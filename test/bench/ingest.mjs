// Load on the server, with the built packages (npx turbo run build first). Prints figures; asserts nothing.
//   1. throughput: records/s that POST /api/ingest takes on ONE core (the server runs in a child pinned to
//      core 0 with taskset; senders and SSE clients run on core 1) while 50 SSE clients follow the run
//      over GET /stream, and whether every client got every record.
//   2. memory: one run of 1000 layers sampled every 100 steps over 100,000 steps (1000 samples, 64-bin
//      histograms), the server's RSS and heap after every 100 samples, then GET /api/runs/:run.
//   node test/bench/ingest.mjs [--part throughput|memory|all] [--steps 3000] [--clients 50] [--batch 50]
//                              [--layers 1000] [--samples 1000]
import { execFileSync, spawn } from 'node:child_process'
import http from 'node:http'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseNdjson } from '@sparselab-profiler/core'
import { BINS, MAX_BATCH_BYTES, checkSchema, toBatches, trainingRun } from './syntheticRun.mjs'

const { values } = parseArgs({
  options: {
    part: { type: 'string', default: 'all' },
    steps: { type: 'string', default: '3000' }, // part 1: training steps per variant, split over its runs
    clients: { type: 'string', default: '50' },
    batch: { type: 'string', default: '50' }, // records per POST (and at most 1 MiB, as the Python sender)
    layers: { type: 'string', default: '1000' }, // part 2
    samples: { type: 'string', default: '1000' }, // part 2
    role: { type: 'string' }, // internal: the SSE clients' child process
  },
})

const SELF = fileURLToPath(import.meta.url)
const SERVER = fileURLToPath(new URL('./ingestServer.mjs', import.meta.url))
const MB = 1e6
const nowMs = () => Number(process.hrtime.bigint()) / 1e6 // CLOCK_MONOTONIC: comparable across processes

// ---------------------------------------------------------------------------------------------- records

async function post(url, body) {
  const res = await fetch(`${url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body })
  const text = await res.text()
  if (!res.ok) throw new Error(`POST /api/ingest answered ${res.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text).acks
}

// -------------------------------------------------------------------------------------------- processes

const CORES = availableParallelism()
const SERVER_CORE = 0
const CLIENT_CORE = CORES > 1 ? 1 : 0

/** Starts `node args` pinned to `core`, with an IPC channel; resolves at its `ready` message. */
function spawnPinned(core, args) {
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const pending = new Map()
  let nextId = 0
  const waiters = []
  const unclaimed = [] // messages that came before anyone waited for them
  child.on('message', (message) => {
    if (message.id !== undefined && pending.has(message.id)) {
      pending.get(message.id)(message)
      pending.delete(message.id)
      return
    }
    const waiter = waiters.find((w) => w.type === message.type)
    if (waiter) waiters.splice(waiters.indexOf(waiter), 1), waiter.resolve(message)
    else unclaimed.push(message)
  })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const api = {
    child,
    exited,
    send: (message) => child.send(message),
    ask: (message) => new Promise((resolve) => (pending.set(nextId, resolve), child.send({ ...message, id: nextId++ }))),
    /** The next message of `type`; rejects after `timeoutMs` or if the process exits first. */
    next: (type, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const early = unclaimed.findIndex((m) => m.type === type)
        if (early >= 0) return resolve(unclaimed.splice(early, 1)[0])
        const timer = setTimeout(() => reject(new Error(`no "${type}" message within ${timeoutMs} ms`)), timeoutMs)
        const waiter = { type, resolve: (m) => (clearTimeout(timer), resolve(m)) }
        waiters.push(waiter)
        exited.then(({ code, signal }) => (clearTimeout(timer), reject(new Error(`child exited (${signal ?? code}) before "${type}"`))))
        timer.unref?.()
      }),
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.send({ type: 'close' })
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
    },
  }
  return api
}

async function startBenchServer() {
  const server = spawnPinned(SERVER_CORE, ['--expose-gc', SERVER])
  const { url } = await server.next('ready', 30_000)
  return { ...server, url }
}

const memoryLine = (m) => `RSS ${(m.rss / MB).toFixed(0)} MB, heap used ${(m.heapUsed / MB).toFixed(0)} MB`

// ------------------------------------------------------------------------------------- part 1: throughput

async function throughput({ runs, clients, steps, batch }) {
  const title = `${runs} run${runs > 1 ? 's' : ''}, ${runs} ${runs > 1 ? 'concurrent senders' : 'sender'} (sequential POSTs each), ${clients} SSE clients${runs > 1 ? ` spread over the runs` : ''}`
  console.log(`\n== throughput: ${title}; server pinned to core ${SERVER_CORE}, senders and clients on core ${CLIENT_CORE} ==`)
  const plans = Array.from({ length: runs }, (_, r) => {
    const records = [...trainingRun({ run: `bench-${runs}x-${r}`, layerCount: 100, steps: Math.ceil(steps / runs), every: 10, updateEvery: 100, seed: 17 + r })]
    checkSchema([records[0], ...['sample', 'event', 'end'].map((type) => records.find((x) => x.type === type)).filter(Boolean)])
    const lines = records.map((x) => JSON.stringify(x))
    return { run: records[0].run, first: lines[0], batches: toBatches(lines.slice(1), batch), records, last: records.at(-1).seq }
  })
  const firstBatch = parseNdjson(plans[0].batches[0].body)
  if (!firstBatch.ok) throw new Error(`generated batch is invalid: ${formatNdjsonError(firstBatch.error)}`)
  const all = plans.flatMap((p) => p.records.slice(1))
  const count = (type) => all.filter((r) => r.type === type).length
  const bytes = plans.reduce((sum, p) => sum + p.batches.reduce((s, b) => s + b.bytes, 0), 0)
  const posts = plans.reduce((sum, p) => sum + p.batches.length, 0)
  const sampleBytes = JSON.stringify(all.find((r) => r.type === 'sample')).length
  const eventBytes = all.filter((r) => r.type === 'event').reduce((s, r) => s + JSON.stringify(r).length, 0) / Math.max(1, count('event'))
  console.log(
    `records: ${all.length} timed (${count('sample')} samples of 100 layers, ~${(sampleBytes / 1e3).toFixed(0)} kB each; ${count('event')} drop/grow events with per-row counts, ~${(eventBytes / 1e3).toFixed(1)} kB each; ${count('end')} end), ` +
      `${(bytes / MB).toFixed(1)} MB of NDJSON in ${posts} POSTs (≤${batch} records, ≤1 MiB each)`,
  )

  const server = await startBenchServer()
  const sse = spawnPinned(CLIENT_CORE, [SELF, '--role', 'clients'])
  try {
    await sse.next('ready')
    for (const plan of plans) await post(server.url, plan.first + '\n') // the run record opens the run; /stream needs it
    sse.send({ type: 'connect', url: server.url, runs: plans.map((p, i) => ({ run: p.run, clients: Math.floor(clients / runs) + (i < clients % runs ? 1 : 0), last: p.last })) })
    await sse.next('subscribed', 60_000)
    const before = await server.ask({ type: 'stats' })
    const t0 = nowMs()
    const lastSent = {}
    const senders = plans.map(async (plan) => {
      let expected = 0 // seq of the batch's last record: the run record was 0, then seq follows the lines
      for (const [i, b] of plan.batches.entries()) {
        if (i === plan.batches.length - 1) lastSent[plan.run] = nowMs()
        const acks = await post(server.url, b.body)
        expected += b.records
        if (acks[plan.run] !== expected) throw new Error(`ack ${acks[plan.run]} for ${plan.run}, expected ${expected}`)
      }
    })
    await Promise.all(senders)
    const tAcked = nowMs()
    let report
    try {
      report = await sse.next('report', 120_000)
    } catch {
      sse.send({ type: 'report' })
      report = await sse.next('report', 10_000)
      console.log('!! not every SSE client got the last record within 120 s of the last ack')
    }
    const after = await server.ask({ type: 'stats' })
    const ingestS = (tAcked - t0) / 1000
    console.log(`ingest (first POST sent -> last ack): ${ingestS.toFixed(2)} s -> ${(all.length / ingestS).toFixed(0)} records/s, ${(bytes / MB / ingestS).toFixed(2)} MB/s`)
    const cs = report.clients
    const done = cs.filter((c) => c.doneAt !== null)
    if (!cs.length) console.log('no SSE clients attached')
    else if (done.length === cs.length) {
      const tAll = Math.max(...done.map((c) => c.doneAt))
      const deliveredS = (tAll - t0) / 1000
      const e2e = Math.max(...plans.map((p) => Math.max(...cs.filter((c) => c.run === p.run).map((c) => c.doneAt)) - lastSent[p.run]))
      const sseBytes = cs.reduce((s, c) => s + c.bytes, 0)
      console.log(`delivered: every client has its run's last record ${deliveredS.toFixed(2)} s after the first POST -> ${(all.length / deliveredS).toFixed(0)} records/s fanned out (${(sseBytes / MB).toFixed(0)} MB of SSE in all)`)
      console.log(`last record: its POST sent -> all ${cs.length} clients have it: ${e2e.toFixed(0)} ms (its ack came ${(tAcked - Math.max(...Object.values(lastSent))).toFixed(0)} ms after sending)`)
    } else console.log(`delivered: only ${done.length} of ${cs.length} clients got their run's last record`)
    const got = cs.map((c) => c.received)
    const expectedPerClient = cs.map((c) => c.expect + 1)
    const complete = cs.filter((c) => c.received === c.expect + 1 && c.gaps === 0).length
    const sum = (key) => cs.reduce((s, c) => s + c[key], 0)
    if (cs.length)
      console.log(
        `per client: records received min ${Math.min(...got)} / max ${Math.max(...got)} (expected ${[...new Set(expectedPerClient)].join(' or ')}, run record included); ` +
          `${complete} of ${cs.length} clients got every record; gaps ${sum('gaps')}, duplicates ${sum('dupes')}, reconnects ${sum('reconnects')}, resets ${sum('resets')}, HTTP errors ${sum('errors')}`,
      )
    const cpu = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6
    const wall = (Math.max(tAcked, ...done.map((c) => c.doneAt)) - t0) / 1000
    console.log(`server: ${cpu.toFixed(1)} s CPU over ${wall.toFixed(1)} s (${((100 * cpu) / wall).toFixed(0)}% of its core); ${memoryLine(after.memory)}; ${(after.logdirBytes / MB).toFixed(1)} MB written under its logdir`)
  } finally {
    await sse.close()
    await server.close()
  }
}

// ----------------------------------------------------------------------------------------- part 2: memory

async function memory({ layerCount, samples }) {
  const every = 100
  const steps = samples * every
  console.log(`\n== memory: 1 run, ${layerCount} layers, a sample every ${every} steps over ${steps} steps = ${samples} samples of ${layerCount} × ${BINS}-bin histograms; no events, no SSE clients ==`)
  const server = await startBenchServer()
  try {
    const run = `bench-memory-${layerCount}`
    const records = trainingRun({ run, layerCount, steps, every, updateEvery: 0, seed: 99 })
    const row = (label, ingested, stats) =>
      console.log(
        `${label.padStart(7)}  ${(ingested / MB).toFixed(1).padStart(9)}  ${(stats.memory.rss / MB).toFixed(0).padStart(7)}  ${(stats.memory.heapUsed / MB).toFixed(0).padStart(14)}  ` +
          `${(stats.memory.heapTotal / MB).toFixed(0).padStart(10)}  ${String(stats.retained[run]?.samples ?? 0).padStart(12)}`,
      )
    console.log(`samples  JSON (MB)  RSS (MB)  heap used (MB)  heap total  samples kept   (heap after a full GC; MB = 10^6 bytes)`)
    const baseline = await server.ask({ type: 'stats', gc: true })
    row('0', 0, baseline)
    const t0 = nowMs()
    let ingested = 0
    let sent = 0
    let posts = 0
    let checked = 0
    let pending = []
    let pendingBytes = 0
    let last = null
    const flush = async () => {
      const acks = await post(server.url, pending.join('\n') + '\n')
      if (acks[run] !== last.seq) throw new Error(`ack ${acks[run]}, expected ${last.seq}`)
      ingested += pendingBytes + pending.length
      posts++
      pending = []
      pendingBytes = 0
    }
    for (const record of records) {
      if (checked < 4 || record.type === 'end') checkSchema([record]), checked++
      const line = JSON.stringify(record)
      if (pending.length && (pending.length >= Number(values.batch) || pendingBytes + line.length + pending.length > MAX_BATCH_BYTES)) await flush()
      pending.push(line)
      pendingBytes += line.length
      last = record
      if (record.type === 'sample' && ++sent % 100 === 0) {
        await flush()
        row(String(sent), ingested, await server.ask({ type: 'stats', gc: true }))
      }
    }
    if (pending.length) await flush()
    const ingestS = (nowMs() - t0) / 1000
    const final = await server.ask({ type: 'stats', gc: true })
    console.log(
      `final: ${sent} samples, ${(ingested / MB).toFixed(0)} MB of JSON ingested in ${posts} POSTs (${ingestS.toFixed(1)} s, stats pauses included); ` +
        `server ${memoryLine(final.memory)} (heap grew ${((final.memory.heapUsed - baseline.memory.heapUsed) / ingested).toFixed(2)}× the JSON), ${final.retained[run]?.samples} samples kept; ${(final.logdirBytes / MB).toFixed(0)} MB written under its logdir`,
    )
    // The whole snapshot, then the bounded overview a dashboard loads when it opens the run (where the build has it).
    for (const path of [`/api/runs/${run}`, `/api/runs/${run}/overview`]) {
      const got = await timeGet(`${server.url}${path}`)
      if (got.error) console.log(`GET ${path}: failed: ${got.error.message}`)
      else
        console.log(
          `GET ${path}: HTTP ${got.status}, ${(got.bytes / MB).toFixed(got.bytes < MB ? 3 : 1)} MB in ${(got.ms / 1000).toFixed(2)} s (first byte after ${(got.firstByteMs / 1000).toFixed(2)} s)` +
            (got.status === 200 ? '' : `: ${got.head.slice(0, 200)}`),
        )
    }
    console.log(`server after those GETs: ${memoryLine((await server.ask({ type: 'stats', gc: false })).memory)} (before GC)`)
  } finally {
    await server.close()
  }
}

/** GETs `url`, counting the body's bytes without keeping them. */
function timeGet(url) {
  const t0 = nowMs()
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let bytes = 0
      let firstByteMs = null
      let head = ''
      res.on('data', (chunk) => {
        firstByteMs ??= nowMs() - t0
        bytes += chunk.length
        if (head.length < 300) head += chunk.toString('utf8', 0, 300)
      })
      res.on('end', () => resolve({ status: res.statusCode, bytes, firstByteMs: firstByteMs ?? nowMs() - t0, ms: nowMs() - t0, head }))
      res.on('error', reject)
    })
    req.setTimeout(120_000, () => req.destroy(new Error('no answer within 120 s')))
    req.on('error', reject)
  }).catch((error) => ({ error }))
}

// ------------------------------------------------------------------------------------------------- main

async function main() {
  const part = values.part
  if (!['throughput', 'memory', 'all'].includes(part)) throw new Error(`--part must be throughput, memory or all, got ${part}`)
  if (CORES > 1) execFileSync('taskset', ['-a', '-cp', String(CLIENT_CORE), String(process.pid)], { stdio: 'ignore' })
  else console.log('!! one CPU only: server and load generator share it')
  console.log(`node ${process.version}, ${CORES} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on these cores skews the figures)`)
  const started = nowMs()
  if (part !== 'memory') {
    const [steps, clients, batch] = [Number(values.steps), Number(values.clients), Number(values.batch)]
    await throughput({ runs: 1, clients, steps, batch })
    await throughput({ runs: 4, clients, steps, batch })
  }
  if (part !== 'throughput') await memory({ layerCount: Number(values.layers), samples: Number(values.samples) })
  console.log(`\nbench took ${((nowMs() - started) / 1000).toFixed(0)} s`)
}

// ------------------------------------------------------------------------------------- SSE clients' child

/**
 * Holds the SSE connections in a process of its own. Each client counts the `id:` lines it receives
 * (without parsing the JSON), checks they come in seq order, and reconnects with Last-Event-ID like
 * EventSource when the server ends its stream (a client more than 10,000 records behind is dropped).
 */
function clientsRole() {
  const ID = Buffer.from('\nid: ')
  const RESET = Buffer.from('event: reset')
  const clients = []
  let closing = false
  let subscribed = false
  let reported = false
  const report = () => {
    reported = true
    process.send({
      type: 'report',
      clients: clients.map(({ run, expect, received, gaps, dupes, reconnects, resets, errors, doneAt, bytes }) => ({ run, expect, received, gaps, dupes, reconnects, resets, errors, doneAt, bytes })),
    })
  }
  const onId = (c, id) => {
    if (id === c.lastId + 1) c.received++
    else if (id <= c.lastId) return void c.dupes++
    else (c.gaps += id - c.lastId - 1), c.received++
    c.lastId = id
    if (!subscribed && clients.every((x) => x.lastId >= 0)) (subscribed = true), process.send({ type: 'subscribed' })
    if (id === c.expect && c.doneAt === null) {
      c.doneAt = nowMs()
      if (!reported && clients.every((x) => x.doneAt !== null)) report()
    }
  }
  const connect = (c) => {
    const headers = { Accept: 'text/event-stream' }
    if (c.lastId >= 0) headers['Last-Event-ID'] = String(c.lastId)
    let retried = false
    const retry = () => {
      if (retried || closing) return
      retried = true
      c.reconnects++
      setTimeout(() => connect(c), 100)
    }
    const req = http.get(`${c.url}/stream?run=${encodeURIComponent(c.run)}`, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        c.errors++
        res.resume()
        res.on('end', retry)
        return
      }
      let first = true
      let carry = null
      res.on('data', (chunk) => {
        c.bytes += chunk.length
        if (first && chunk.indexOf(RESET) === 0) c.resets++
        first = false
        const buf = carry ? Buffer.concat([carry, chunk]) : chunk
        carry = null
        let pos = 0
        for (;;) {
          const i = buf.indexOf(ID, pos)
          if (i < 0) {
            carry = buf.subarray(Math.max(pos, buf.length - ID.length + 1))
            break
          }
          const nl = buf.indexOf(10, i + ID.length)
          if (nl < 0) {
            carry = buf.subarray(i)
            break
          }
          onId(c, Number(buf.toString('latin1', i + ID.length, nl)))
          pos = nl
        }
      })
      res.on('end', retry)
      res.on('error', retry)
      res.on('close', retry)
    })
    req.on('error', retry)
    c.req = req
  }
  process.on('message', (message) => {
    if (message.type === 'connect') {
      for (const { run, clients: n, last } of message.runs)
        for (let k = 0; k < n; k++) {
          const c = { url: message.url, run, expect: last, lastId: -1, received: 0, gaps: 0, dupes: 0, reconnects: 0, resets: 0, errors: 0, doneAt: null, bytes: 0, req: null }
          clients.push(c)
          connect(c)
        }
      if (!clients.length) process.send({ type: 'subscribed' }), report() // --clients 0: ingest alone
    } else if (message.type === 'report') report()
    else if (message.type === 'close') {
      closing = true
      for (const c of clients) c.req?.destroy()
      process.exit(0)
    }
  })
  process.send({ type: 'ready' })
}

if (values.role === 'clients') clientsRole()
else await main()
