import type { SSEStreamingApi } from 'hono/streaming'
import type { RunStore, WireRecord } from '@sparselab-profiler/core'
import { recordJson } from '@sparselab-profiler/runlog'

export interface StreamRunOptions {
  store: RunStore
  run: string
  /** Last seq the client has; replay starts after it. */
  after: number
  keepAliveMs: number
  /**
   * Records queued for a client that reads too slowly (or not at all): one more ends its stream at
   * once, so its memory stays bounded; it reconnects and resumes with Last-Event-ID. @default 10000
   */
  maxQueued?: number
}

// One SSE frame per record, encoded once and shared by every client that follows the run: with 50
// clients, serialising and encoding per client cost ten times the ingest itself.
const frames = new WeakMap<WireRecord, Uint8Array>()
const encoder = new TextEncoder()

/** The record as an SSE event (`event` = type, one `data` line: JSON has no raw newlines, `id` = seq). */
function sseFrame(record: WireRecord): Uint8Array {
  let frame = frames.get(record)
  if (!frame) {
    frame = encoder.encode(`event: ${record.type}\ndata: ${recordJson(record)}\nid: ${record.seq}\n\n`)
    frames.set(record, frame)
  }
  return frame
}

/**
 * Replays a run's records after `after`, then follows new ones, each as an SSE event whose id is its
 * seq; a client that reconnects with `Last-Event-ID` therefore sees no gap and no duplicate.
 */
export async function streamRun(stream: SSEStreamingApi, options: StreamRunOptions): Promise<void> {
  const { store, run } = options
  const maxQueued = options.maxQueued ?? 10_000
  const queue: WireRecord[] = []
  let wake: (() => void) | undefined
  // Subscribe before reading the replay so nothing stored in between is missed; seq filters the overlap.
  const unsubscribe = store.subscribe((record) => {
    if (record.run !== run) return
    queue.push(record)
    if (queue.length > maxQueued) {
      // Too slow, or not reading at all (its write may never return): end its stream now, freeing the
      // queue; the client reconnects with the last id it got and resumes from there.
      queue.length = 0
      stream.abort()
      return
    }
    wake?.()
  })
  stream.onAbort(() => {
    unsubscribe()
    wake?.()
  })
  try {
    const replay = store.recordsAfter(run, options.after)
    if (!replay) {
      await stream.writeSSE({ event: 'reset', data: 'history before this point was evicted; reload the snapshot' })
      return
    }
    let sent = options.after
    const send = async (record: WireRecord) => {
      if (record.seq <= sent) return
      await stream.write(sseFrame(record))
      sent = record.seq
    }
    for (const record of replay) await send(record)
    while (!stream.aborted && !stream.closed) {
      const record = queue.shift()
      if (record) {
        await send(record)
        continue
      }
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), options.keepAliveMs)
        wake = () => {
          clearTimeout(timer)
          resolve(false)
        }
      })
      wake = undefined
      if (timedOut) await stream.write(': keep-alive\n\n')
    }
  } finally {
    unsubscribe()
  }
}
