import { createParser } from 'eventsource-parser'
import type { WireRecord } from '@sparselab-profiler/core'
import type { RunsClient } from './runsClient.js'

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed'

export interface FollowRunOptions {
  client: RunsClient
  run: string
  /** Last seq already held; the stream resumes after it. */
  after: number
  onRecord: (record: WireRecord) => void
  /** The server no longer holds the records after `after`: reload the snapshot. */
  onReset: () => void
  onStatus?: (status: StreamStatus) => void
  /** Delay before reconnecting. @default 1000 */
  retryMs?: number
}

/**
 * Follows a run's SSE stream with fetch + eventsource-parser, reconnecting with `Last-Event-ID` so
 * no record is missed or repeated. Returns a function that stops following.
 * @example const stop = followRun({ client, run, after: overview.lastSeq, onRecord, onReset })
 */
export function followRun(options: FollowRunOptions): () => void {
  const controller = new AbortController()
  let lastSeq = options.after
  const status = (s: StreamStatus) => options.onStatus?.(s)

  const connectOnce = async (): Promise<'ended' | 'reset'> => {
    const body = await options.client.stream(options.run, { after: lastSeq, signal: controller.signal })
    status('live')
    let reset = false
    const parser = createParser({
      onEvent(event) {
        if (event.event === 'reset') {
          reset = true
          return
        }
        const record = JSON.parse(event.data) as WireRecord
        if (record.seq <= lastSeq) return
        lastSeq = record.seq
        options.onRecord(record)
      },
    })
    const reader = body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return reset ? 'reset' : 'ended'
      parser.feed(value)
      if (reset) {
        await reader.cancel()
        return 'reset'
      }
    }
  }

  void (async () => {
    status('connecting')
    while (!controller.signal.aborted) {
      try {
        if ((await connectOnce()) === 'reset') {
          options.onReset()
          return
        }
      } catch {
        if (controller.signal.aborted) break
      }
      status('reconnecting')
      await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 1000))
    }
    status('closed')
  })()

  return () => controller.abort()
}
