import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/** Where a run log's complete lines end, and what its last complete line says. */
export interface LogTail {
  /** Byte offset just after the last newline: bytes beyond it are a torn line (its writer died mid-write). */
  end: number
  /** seq, type and run of the last complete line; undefined when there is none or it is not a record. */
  last: { seq: number; type: string; run: string } | undefined
}

const CHUNK = 64 * 1024
const NEWLINE = 0x0a

/**
 * Reads only the end of an open NDJSON file, however large, to find its last complete record.
 * @example readLogTail(fd) // { end: 1234, last: { seq: 41, type: 'sample', run: 'run-1' } }
 */
export function readLogTail(fd: number): LogTail {
  const end = lastNewlineBefore(fd, fstatSync(fd).size) + 1
  if (end === 0) return { end, last: undefined }
  const start = lastNewlineBefore(fd, end - 1) + 1
  const line = Buffer.alloc(end - 1 - start)
  readSync(fd, line, 0, line.length, start)
  return { end, last: recordHead(line.toString('utf8')) }
}

/** `readLogTail` of the file at `path`, or undefined when there is no such file (or it is not a file). */
export function readLogTailOf(path: string): LogTail | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    return fstatSync(fd).isFile() ? readLogTail(fd) : undefined
  } finally {
    closeSync(fd)
  }
}

/** Byte index of the last newline before `limit`, or -1 when there is none. */
function lastNewlineBefore(fd: number, limit: number): number {
  const chunk = Buffer.alloc(CHUNK)
  for (let end = limit; end > 0; end -= CHUNK) {
    const start = Math.max(0, end - CHUNK)
    const read = readSync(fd, chunk, 0, end - start, start)
    const index = chunk.subarray(0, read).lastIndexOf(NEWLINE)
    if (index >= 0) return start + index
  }
  return -1
}

function recordHead(line: string): LogTail['last'] {
  try {
    const value = JSON.parse(line) as { seq?: unknown; type?: unknown; run?: unknown }
    return Number.isInteger(value.seq) && typeof value.type === 'string' && typeof value.run === 'string'
      ? { seq: value.seq as number, type: value.type, run: value.run }
      : undefined
  } catch {
    return undefined
  }
}
