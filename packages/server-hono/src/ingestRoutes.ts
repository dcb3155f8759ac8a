import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { checkBatch, formatNdjsonError, isValidRunId, parseNdjson, type RunStore } from '@sparselab-profiler/core'
import { decodeUtf8Body } from './decodeUtf8Body.js'
import { requireContentType } from './requireContentType.js'

export interface IngestRoutesOptions {
  store: RunStore
  /** Largest accepted ingest body in bytes; larger ones get 413. @default 16 MiB */
  maxIngestBytes?: number
}

const DEFAULT_MAX_INGEST_BYTES = 16 * 1024 * 1024

/**
 * `POST /` (mounted at `/api/ingest`): an NDJSON batch of wire records, stored all or nothing and
 * answered with each run's ack; an empty body with `?run=R` is a heartbeat.
 *
 * The records are checked by core (`parseNdjson`, `checkBatch`), the schema's one home. `?run=` means
 * something only when the body is empty, so it is checked there, not by a query validator that would
 * refuse a batch for a parameter it ignores.
 * @example app.route('/api/ingest', ingestRoutes({ store }))
 */
export function ingestRoutes(options: IngestRoutesOptions) {
  const { store } = options
  const maxSize = options.maxIngestBytes ?? DEFAULT_MAX_INGEST_BYTES
  return new Hono().post(
    '/',
    requireContentType('application/x-ndjson'),
    bodyLimit({ maxSize, onError: (c) => c.json({ error: `body larger than ${maxSize} bytes; send smaller batches` }, 413) }),
    async (c) => {
      const decoded = decodeUtf8Body(new Uint8Array(await c.req.arrayBuffer()))
      if (!decoded.ok) return c.json({ error: formatNdjsonError(decoded.error), ...decoded.error }, 400)
      const body = decoded.text
      const heartbeat = c.req.query('run')
      if (body.trim() === '' && heartbeat !== undefined) {
        // An empty batch naming its run is a heartbeat: the run is alive, and the ack says where it stands.
        if (!isValidRunId(heartbeat)) return c.json({ error: `query parameter "run" must be a run id, got ${JSON.stringify(heartbeat)}` }, 400)
        return c.json({ acks: { [heartbeat]: store.touch(heartbeat) } })
      }
      const parsed = parseNdjson(body)
      if (!parsed.ok) return c.json({ error: formatNdjsonError(parsed.error), ...parsed.error }, 400)
      // All or nothing: a batch with a problem stores none of its records.
      const problem = checkBatch(parsed.records, parsed.lines, (run) => store.has(run))
      if (problem) {
        const { line, path, message } = problem
        const answer = { error: formatNdjsonError(problem), line, path, message }
        // An unknown run answers like an ack of -1 too, so the sender resends from seq 0.
        return problem.kind === 'unknown-run' ? c.json({ ...answer, acks: { [problem.run]: -1 } }, 409) : c.json(answer, 400)
      }
      return c.json({ acks: store.ingest(parsed.records) })
    },
  )
}
