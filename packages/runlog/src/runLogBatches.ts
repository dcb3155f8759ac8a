import { createReadStream } from 'node:fs'
import { formatNdjsonError, parseNdjson, type WireRecord } from '@sparselab-profiler/core'

const NEWLINE = 0x0a

/**
 * Reads an NDJSON run log in batches of validated records without ever holding the whole file (a
 * 1000-layer × 100k-step log is several GB, past what one string can hold). A torn last line (its
 * writer was killed mid-write) is ignored; any other bad line throws, naming the file, line and field.
 * @example for await (const records of runLogBatches('sparsity_runs/run-1/received.ndjson')) store.restore(records)
 */
export async function* runLogBatches(file: string, batchSize = 1000): AsyncGenerator<WireRecord[]> {
  let batch: WireRecord[] = []
  let lineNumber = 0
  let partial: Buffer[] = [] // the start of a line whose newline is in a later chunk
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0
    for (let newline = chunk.indexOf(NEWLINE); newline >= 0; newline = chunk.indexOf(NEWLINE, start)) {
      const line = Buffer.concat([...partial, chunk.subarray(start, newline)]).toString('utf8')
      partial = []
      start = newline + 1
      lineNumber++
      const record = parseLine(file, line, lineNumber)
      if (!record) continue
      batch.push(record)
      if (batch.length >= batchSize) {
        yield batch
        batch = []
      }
    }
    if (start < chunk.length) partial.push(chunk.subarray(start))
  }
  if (batch.length > 0) yield batch
}

/** One line through core's `parseNdjson`, so a log line fails exactly as it would in an ingest body. */
function parseLine(file: string, line: string, lineNumber: number): WireRecord | undefined {
  const parsed = parseNdjson(line)
  if (!parsed.ok) throw new Error(`${file}: ${formatNdjsonError({ ...parsed.error, line: lineNumber })}`)
  return parsed.records[0]
}
