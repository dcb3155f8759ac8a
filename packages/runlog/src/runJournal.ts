import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, openSync, renameSync, truncateSync, writeSync } from 'node:fs'
import { dirname, resolve, sep } from 'node:path'
import { isValidRunId, type WireRecord } from '@sparselab-profiler/core'
import { readLogTail, readLogTailOf } from './logTail.js'
import { recordJson } from './recordJson.js'
import { JOURNAL_FILE, RECORDS_FILE } from './runFiles.js'

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
 * Makes each record durable before the server acknowledges it, keeping one copy per run. A run whose
 * trainer logs into this logdir needs none: its `<logdir>/<run>/records.ndjson` already holds every
 * record the trainer's sender sends (it writes a line before the sender reads it), so `append` only
 * checks that the log holds the record. Any other run (its trainer logs elsewhere, or another machine
 * sends it) is appended to `<logdir>/<run>/received.ndjson` with a synchronous write, one JSON line per
 * record. Which of the two a run gets is decided when the journal first meets it; a run that has a
 * journal keeps it, and a trainer log that stops holding what arrives hands over to a journal that
 * starts as its copy. Once `append` returns, the record is in the OS page cache: a SIGKILL of the
 * server loses nothing it acknowledged afterwards (a power cut still can; no one calls fsync).
 * @example
 * const journal = new RunJournal('./sparsity_runs')
 * const store = new RunStore({ persist: (record) => journal.append(record) })
 */
export class RunJournal {
  readonly #logdir: string
  readonly #maxOpenFiles: number
  /** Open journals, least recently written first. */
  readonly #open = new Map<string, OpenJournal>()
  /** Runs whose trainer log is their copy: the highest seq that log was last seen to hold. */
  readonly #inTrainerLog = new Map<string, number>()

  constructor(logdir: string, options: RunJournalOptions = {}) {
    this.#logdir = resolve(logdir)
    this.#maxOpenFiles = options.maxOpenFiles ?? 64
  }

  /** Path of `run`'s journal; throws for an id that is not a run id or would lead outside the logdir. */
  fileOf(run: string): string {
    return this.#pathOf(run, JOURNAL_FILE)
  }

  /**
   * Makes `record` durable: checks that its run's trainer log holds it, or writes it as the next line of
   * the run's journal; throws, writing nothing, if it is neither there nor the journal's next seq.
   */
  append(record: WireRecord): void {
    const file = this.fileOf(record.run)
    if (!this.#open.has(record.run) && this.#trainerLogHolds(record, file)) return
    const journal = this.#journalOf(record.run, file, record.seq)
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

  #pathOf(run: string, name: typeof JOURNAL_FILE | typeof RECORDS_FILE): string {
    if (!isValidRunId(run)) throw new Error(`refusing to journal run ${JSON.stringify(run)}: not a run id`)
    const file = resolve(this.#logdir, run, name)
    if (dirname(dirname(file)) !== this.#logdir || !file.startsWith(this.#logdir + sep))
      throw new Error(`refusing to journal run ${JSON.stringify(run)}: ${file} is outside ${this.#logdir}`)
    return file
  }

  /** Whether the trainer's log in the run's folder holds `record`, so that log is the run's one copy. */
  #trainerLogHolds(record: WireRecord, journalFile: string): boolean {
    const seen = this.#inTrainerLog.get(record.run)
    if (seen !== undefined && record.seq <= seen) return true
    if (seen === undefined && existsSync(journalFile)) return false // a run journaled before keeps its journal
    // Only the tail is read, once per batch at most: the sender sends lines the log held when it read them.
    const last = readLogTailOf(this.#pathOf(record.run, RECORDS_FILE))?.last
    if (last?.run === record.run && last.seq >= record.seq) {
      this.#inTrainerLog.set(record.run, last.seq)
      return true
    }
    this.#inTrainerLog.delete(record.run)
    return false
  }

  #journalOf(run: string, file: string, seq: number): OpenJournal {
    const open = this.#open.get(run)
    if (open) {
      this.#open.delete(run) // re-inserted last: most recently used
      this.#open.set(run, open)
      return open
    }
    if (seq > 0 && !existsSync(file)) this.#startFromTrainerLog(run, file, seq)
    const journal = openJournal(file)
    this.#open.set(run, journal)
    if (this.#open.size > this.#maxOpenFiles) this.#close(this.#open.keys().next().value!)
    return journal
  }

  /**
   * Starts `run`'s journal as a copy of its trainer log, which holds the records before `seq` but not
   * `seq` itself (the log stopped growing, or another sender goes on with the run), so the journal goes
   * on with no gap.
   */
  #startFromTrainerLog(run: string, file: string, seq: number): void {
    const trainerLog = this.#pathOf(run, RECORDS_FILE)
    const tail = readLogTailOf(trainerLog)
    if (tail?.last?.run !== run || tail.last.seq !== seq - 1) throw new Error(`${file} holds no records; it cannot take seq ${seq} next`)
    const copy = `${file}.partial`
    try {
      copyFileSync(trainerLog, copy)
      truncateSync(copy, tail.end) // lines the log got meanwhile, or a torn one, are not part of the copy
      renameSync(copy, file)
    } catch (error) {
      throw new Error(`cannot start ${file} from ${trainerLog}: ${(error as Error).message}`)
    }
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
