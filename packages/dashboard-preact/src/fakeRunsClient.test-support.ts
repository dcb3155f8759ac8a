// What the dashboard's unit tests share: a RunsClient whose answers and streams the test drives, and a tiny run.
import { RunStore, layerHistory, runOverview, type Flag, type LayerHistory, type RunOverview, type RunRecord, type SampleRecord, type WireRecord } from '@sparselab-profiler/core'
import type { Schedule } from './nextFrame.js'
import type { RunsClient } from './runsClient.js'

export const RUN = 'run-1'

export const runRecord: RunRecord = {
  type: 'run', run: RUN, seq: 0, name: 'mlp', started: 1, schema: 1, host: 'h', profiler: 'p', algorithm: null,
  layers: ['fc1', 'fc2'].map((name) => ({ name, shape: [4, 4], numel: 16, dtype: 'float32', format: 'dense_masked', mask_source: 'torch_prune' })),
  sampler: { every: 10 },
}

export const sample = (seq: number, nnz = seq % 17): SampleRecord => ({
  type: 'sample', run: RUN, seq, step: seq * 10, time: seq, cost_ms: 1, step_ms: 5,
  layers: ['fc1', 'fc2'].map((name) => ({ name, nnz, numel: 16, sparsity: 1 - nnz / 16, bytes: 64, dense_bytes: 64, nonfinite: 0, hist: { lo: -1, hi: 1, counts: [nnz] } })),
})

/** The server's views of the run after `records`, as the wire carries them. */
export function serverViews(records: readonly WireRecord[], layer = 'fc1'): { overview: RunOverview; history: LayerHistory } {
  const store = new RunStore({ now: () => 0 })
  store.ingest(records)
  const snapshot = store.snapshot(records[0]?.run ?? RUN)!
  return JSON.parse(JSON.stringify({ overview: runOverview(snapshot, 300), history: layerHistory(snapshot, layer, 500) }))
}

/** An open SSE stream of the fake client: the test writes its events. */
export interface FakeStream {
  run: string
  after: number
  signal: AbortSignal | undefined
  send(record: WireRecord): void
  reset(): void
}

/** Shows what is new as soon as the event loop is free, rather than at the next frame. */
export const soon: Schedule = (callback) => {
  const timer = setTimeout(callback, 0)
  return () => clearTimeout(timer)
}

/** A promise the test settles. */
export function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

/** Waits until `condition` holds, checking every few milliseconds (at most a second). */
export async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 1000) throw new Error('condition not met within a second')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A client answering overviews, layer histories and flags with what the test hands it, and recording every stream it opens and every export asked. */
export function fakeRunsClient(answers: {
  overview?: (run: string) => Promise<RunOverview>
  layerHistory?: (layer: string, run: string) => Promise<LayerHistory>
  flags?: (run: string) => Promise<Flag[]>
}) {
  const streams: FakeStream[] = []
  const exports: ({ kind: 'run' } & Parameters<RunsClient['exportReport']>[0] | { kind: 'compare' } & Parameters<RunsClient['exportCompareReport']>[0])[] = []
  const encoder = new TextEncoder()
  const client: RunsClient = {
    listRuns: async () => [],
    overview: (run) => answers.overview?.(run) ?? Promise.reject(new Error('no overview')),
    layerHistory: (run, layer) => answers.layerHistory?.(layer, run) ?? Promise.reject(new Error('no layer history')),
    flags: (run) => answers.flags?.(run) ?? Promise.resolve([]),
    stream: async (run, { after, signal }) => {
      let controller!: ReadableStreamDefaultController<Uint8Array>
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) })
      signal?.addEventListener('abort', () => controller.error(signal.reason))
      const write = (text: string) => controller.enqueue(encoder.encode(text))
      streams.push({ run, after, signal, send: (record) => write(`id: ${record.seq}\ndata: ${JSON.stringify(record)}\n\n`), reset: () => write('event: reset\ndata: \n\n') })
      return body as NonNullable<Response['body']>
    },
    exportReport: async (request) => (exports.push({ kind: 'run', ...request }), new Blob([])),
    exportCompareReport: async (request) => (exports.push({ kind: 'compare', ...request }), new Blob([])),
  }
  return { client, streams, exports }
}
