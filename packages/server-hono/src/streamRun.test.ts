import { Hono } from 'hono'
import { streamSSE, type SSEStreamingApi } from 'hono/streaming'
import { describe, expect, test } from 'vitest'
import { RunStore, type WireRecord } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { streamRun } from './streamRun.js'
import { VALID_LINES as lines } from '../../../test/support/vectors.js'

const runRecord = JSON.parse(lines[0]!) as WireRecord
const sample = JSON.parse(lines[1]!) as Extract<WireRecord, { type: 'sample' }>
const RUN = runRecord.run

/** Samples with seq `from` to `to`, as a training run sends them. */
const samples = (from: number, to: number): WireRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ ...sample, seq: from + i, step: (from + i) * 10 }))
const tick = () => new Promise((resolve) => setTimeout(resolve, 20))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Reads SSE event ids until `until` says stop or the stream ends; `ended` tells which. */
async function readIds(response: Response, until: (ids: number[]) => boolean = () => false): Promise<{ ids: number[]; ended: boolean }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const ids: number[] = []
  let text = ''
  while (!until(ids)) {
    const { value, done } = await reader.read()
    if (done) return { ids, ended: true }
    text += value
    const blocks = text.split('\n\n')
    text = blocks.pop()!
    for (const block of blocks) {
      const id = /^id: (.*)$/m.exec(block)?.[1]
      if (id !== undefined) ids.push(Number(id))
    }
  }
  await reader.cancel()
  return { ids, ended: false }
}

describe('a client too slow for the run', () => {
  test('is dropped the moment its queue would exceed maxQueued, and its stream ends cleanly', async () => {
    const store = new RunStore()
    store.ingest([runRecord])
    let stream: SSEStreamingApi | undefined
    let streaming: Promise<void> | undefined
    const app = new Hono().get('/stream', (c) =>
      streamSSE(c, (s) => {
        stream = s
        streaming = streamRun(s, { store, run: RUN, after: -1, keepAliveMs: 60_000, maxQueued: 50 })
        return streaming
      }),
    )
    const response = await app.request('/stream') // nobody reads its body yet
    await tick()
    store.ingest(samples(1, 50)) // one synchronous batch: the stream has no chance to send any of it
    expect(stream!.aborted).toBe(false) // 50 queued: at the limit
    store.ingest(samples(51, 51))
    expect(stream!.aborted).toBe(true) // 51: over it, dropped within that same ingest
    await streaming
    expect(await readIds(response)).toEqual({ ids: [0], ended: true }) // what was already on its way, then the end
    expect(store.ingest(samples(52, 52))).toEqual({ [RUN]: 52 }) // the store goes on untouched
  })

  test('reconnecting with Last-Event-ID resumes with the next seq: no gap, no duplicate', async () => {
    const store = new RunStore()
    const app = createApp({ store, maxQueued: 20, keepAliveSeconds: 60 })
    store.ingest([runRecord, ...samples(1, 3)])
    const stalled = await app.request(`/stream?run=${RUN}`) // never read while the run goes on
    let seq = 3
    for (; seq < 200; seq++) {
      store.ingest(samples(seq + 1, seq + 1)) // one record at a time: the stream gets every chance to send
      await new Promise((resolve) => setImmediate(resolve))
    }
    const first = await readIds(stalled)
    expect(first.ended).toBe(true)
    expect(first.ids).toEqual(range(0, first.ids.at(-1)!)) // it was dropped long before seq 200
    expect(first.ids.length).toBeLessThan(20)

    const resumed = await app.request(`/stream?run=${RUN}`, { headers: { 'Last-Event-ID': String(first.ids.at(-1)) } })
    const pending = readIds(resumed, (ids) => ids.at(-1) === 201)
    await tick()
    store.ingest(samples(201, 201)) // and it follows the live run again
    const second = await pending
    expect(second.ids).toEqual(range(first.ids.at(-1)! + 1, 201))
    expect([...first.ids, ...second.ids]).toEqual(range(0, 201))
  })
})
