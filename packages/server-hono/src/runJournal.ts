import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname, resolve, sep } from 'node:path'
import { isValidRunId, type WireRecord } from '@sparselab-profiler/core'
import { readLogTail } from './logTail.js'
import { recordJson } from './recordJson.js'

/**
 * The server's own copy of each run, `<logdir>/<run>/received.ndjson`: the training process may write
 * its `records.ndjson` into the same folder, so the server never writes that name.
 */
export const JOURNAL_FILE = 'received.ndjson'

export interface RunJournalOptions {
  /** Journal files kept open at once; the least recently written one is closed beyond it. @default 64 */
  maxOpenFiles?: number
}

interface OpenJournal {
  fd: number
  /** The seq the next line must carry, so the file never gets a gap or a duplicate. */
  nextSeq: number
}

/**
 * Appends every record it is given to its run's journal with a synchronous write, one JSON line per
 * record. Once `append` returns, the line is in the OS page cache: a SIGKILL of the server loses
 * nothing it acknowledged afterwards (a power cut still can; nothing here calls fsync).
 * @example
 * const journal = new RunJournal('./sparsity_runs')
 * const store = new RunStore({ persist: (record) => journal.append(record) })
 */
export class RunJournal {
  readonly #logdir: string
  readonly #maxOpenFiles: number
  /** Open journals, least recently written first. */
  readonly #open = new Map<string, OpenJournal>()

  constructor(logdir: string, options: RunJournalOptions = {}) {
    this.#logdir = resolve(logdir)
    this.#maxOpenFiles = options.maxOpenFiles ?? 64
  }

  /** Path of `run`'s journal; throws for an id that is not a run id or would lead outside the logdir. */
  fileOf(run: string): string {
    if (!isValidRunId(run)) throw new Error(`refusing to journal run ${JSON.stringify(run)}: not a run id`)
    const file = resolve(this.#logdir, run, JOURNAL_FILE)
    if (dirname(dirname(file)) !== this.#logdir || !file.startsWith(this.#logdir + sep))
      throw new Error(`refusing to journal run ${JSON.stringify(run)}: ${file} is outside ${this.#logdir}`)
    return file
  }

  /** Writes `record` as the next line of its run's journal; throws, writing nothing, if it is not the next seq. */
  append(record: WireRecord): void {
    const file = this.fileOf(record.run)
    const journal = this.#journalOf(record.run, file)
    if (record.seq !== journal.nextSeq)
      throw new Error(`${file} holds seq 0 to ${journal.nextSeq - 1}; it cannot take seq ${record.seq} next`)
    const line = Buffer.from(`${recordJson(record)}\n`)
    try {
      for (let written = 0; written < line.length; ) written += writeSync(journal.fd, line, written)
    } catch (error) {
      this.#close(record.run) // reopening cuts off whatever part of the line did get written
      throw new Error(`cannot write ${file}: ${(error as Error).message}`)
    }
    journal.nextSeq++
  }

  /** Closes every open journal; a later `append` opens its file again. */
  close(): void {
    for (const run of [...this.#open.keys()]) this.#close(run)
  }

  #journalOf(run: string, file: string): OpenJournal {
    const open = this.#open.get(run)
    if (open) {
      this.#open.delete(run) // re-inserted last: most recently used
      this.#open.set(run, open)
      return open
    }
    const journal = openJournal(file)
    this.#open.set(run, journal)
    if (this.#open.size > this.#maxOpenFiles) this.#close(this.#open.keys().next().value!)
    return journal
  }

  #close(run: string): void {
    const journal = this.#open.get(run)
    if (!journal) return
    this.#open.delete(run)
    closeSync(journal.fd)
  }
}

/** Opens a journal for appending, cutting off a torn last line left by a server killed mid-write. */
function openJournal(file: string): OpenJournal {
  let fd: number
  try {
    mkdirSync(dirname(file), { recursive: true })
    fd = openSync(file, 'a+')
  } catch (error) {
    throw new Error(`cannot open ${file}: ${(error as Error).message}`)
  }
  try {
    const tail = readLogTail(fd)
    if (tail.end > 0 && !tail.last) throw new Error(`${file} does not end with a record; move it aside to journal this run again`)
    ftruncateSync(fd, tail.end)
    return { fd, nextSeq: tail.last ? tail.last.seq + 1 : 0 }
  } catch (error) {
    closeSync(fd)
    throw error
  }
}
