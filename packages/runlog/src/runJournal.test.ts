import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import type { WireRecord } from '@sparselab-profiler/core'
import { JOURNAL_FILE } from './runFiles.js'
import { RunJournal } from './runJournal.js'
import { VALID_LINES as lines } from '../../../test/support/vectors.js'

const records = lines.map((line) => JSON.parse(line) as WireRecord)
const RUN = records[0]!.run

const newLogdir = () => mkdtempSync(join(tmpdir(), 'slp-journal-'))
const journalText = (logdir: string, run = RUN) => readFileSync(join(logdir, run, JOURNAL_FILE), 'utf8')
const ofRun = (run: string) => records.map((record) => ({ ...record, run }) as WireRecord)

describe('RunJournal', () => {
  test('appends each record as one JSON line to <logdir>/<run>/received.ndjson, never to the trainer\'s records.ndjson', () => {
    const logdir = newLogdir()
    const journal = new RunJournal(logdir)
    for (const record of records) journal.append(record)
    journal.close()
    expect(journalText(logdir)).toBe(`${lines.join('\n')}\n`)
    expect(readdirSync(join(logdir, RUN))).toEqual(['received.ndjson'])
  })

  test('refuses a record that is not the next seq, so the file never has a gap or a duplicate', () => {
    const logdir = newLogdir()
    const journal = new RunJournal(logdir)
    for (const record of records.slice(0, 3)) journal.append(record)
    const file = join(logdir, RUN, JOURNAL_FILE)
    expect(() => journal.append(records[2]!)).toThrow(`${file} holds seq 0 to 2; it cannot take seq 2 next`)
    expect(() => journal.append(records[4]!)).toThrow(`${file} holds seq 0 to 2; it cannot take seq 4 next`)
    expect(journalText(logdir)).toBe(`${lines.slice(0, 3).join('\n')}\n`)
  })

  test('a new journal goes on from an existing file, cutting off the torn line of a server killed mid-write', () => {
    const logdir = newLogdir()
    mkdirSync(join(logdir, RUN))
    writeFileSync(join(logdir, RUN, JOURNAL_FILE), `${lines.slice(0, 3).join('\n')}\n${lines[3]!.slice(0, 40)}`)
    const journal = new RunJournal(logdir)
    journal.append(records[3]!)
    journal.append(records[4]!)
    journal.close()
    expect(journalText(logdir)).toBe(`${lines.slice(0, 5).join('\n')}\n`)
  })

  test('refuses run ids that are not run ids or would lead outside the logdir, before touching the disk', () => {
    const logdir = newLogdir()
    const journal = new RunJournal(join(logdir, 'runs'))
    for (const run of ['../escape', '..', '/etc/passwd', 'a/../../b', 'a/b', '']) {
      expect(() => journal.fileOf(run)).toThrow(`refusing to journal run ${JSON.stringify(run)}: not a run id`)
      expect(() => journal.append({ ...records[0]!, run })).toThrow(`refusing to journal run ${JSON.stringify(run)}: not a run id`)
    }
    expect(readdirSync(logdir)).toEqual([])
    expect(journal.fileOf(RUN)).toBe(join(logdir, 'runs', RUN, JOURNAL_FILE))
  })

  test('keeps at most maxOpenFiles journals open; a closed one is reopened and goes on where it stopped', () => {
    const logdir = newLogdir()
    const journal = new RunJournal(logdir, { maxOpenFiles: 2 })
    const runs = ['run-a', 'run-b', 'run-c']
    const openJournals = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${logdir}/`)
        } catch {
          return false // the directory listing's own fd is gone by now
        }
      }).length
    for (let i = 0; i < records.length; i++) {
      for (const run of runs) {
        journal.append(ofRun(run)[i]!)
        expect(openJournals()).toBeLessThanOrEqual(2)
      }
    }
    expect(openJournals()).toBe(2)
    journal.close()
    expect(openJournals()).toBe(0)
    for (const run of runs) expect(journalText(logdir, run)).toBe(`${ofRun(run).map((r) => JSON.stringify(r)).join('\n')}\n`)
  })

  test('a journal that cannot be written throws naming the file, and leaves nothing half written', () => {
    const logdir = newLogdir()
    const file = join(logdir, RUN, JOURNAL_FILE)
    mkdirSync(file, { recursive: true }) // honest on any user, root included: a directory where the file belongs
    const journal = new RunJournal(logdir)
    expect(() => journal.append(records[0]!)).toThrow(`cannot open ${file}: EISDIR: illegal operation on a directory, open '${file}'`)
    expect(readdirSync(file)).toEqual([])
  })

  test('a file that does not end with a record is not appended to', () => {
    const logdir = newLogdir()
    mkdirSync(join(logdir, RUN))
    const file = join(logdir, RUN, JOURNAL_FILE)
    writeFileSync(file, `${lines[0]}\n`)
    appendFileSync(file, 'not json\n')
    expect(() => new RunJournal(logdir).append(records[1]!)).toThrow(`${file} does not end with a record; move it aside to journal this run again`)
    expect(readFileSync(file, 'utf8')).toBe(`${lines[0]}\nnot json\n`)
    expect(existsSync(join(logdir, RUN, 'records.ndjson'))).toBe(false)
  })
})

describe('RunJournal beside a trainer that logs into the same logdir', () => {
  const trainerLog = (logdir: string) => join(logdir, RUN, 'records.ndjson')
  const logdirWithTrainerLog = (text: string) => {
    const logdir = newLogdir()
    mkdirSync(join(logdir, RUN))
    writeFileSync(trainerLog(logdir), text)
    return logdir
  }

  test("journals nothing while the trainer's records.ndjson holds each record: it is the run's one copy", () => {
    const logdir = logdirWithTrainerLog(`${lines[0]}\n`)
    const journal = new RunJournal(logdir)
    for (let seq = 0; seq < records.length; seq++) {
      if (seq > 0) appendFileSync(trainerLog(logdir), `${lines[seq]}\n`) // the trainer writes a line before its sender sends it
      journal.append(records[seq]!)
    }
    journal.close()
    expect(readdirSync(join(logdir, RUN))).toEqual(['records.ndjson'])
  })

  test('a trainer log that stops holding what arrives hands over to a journal that starts as its copy', () => {
    const logdir = logdirWithTrainerLog(`${lines.slice(0, 3).join('\n')}\n${lines[3]!.slice(0, 20)}`)
    const journal = new RunJournal(logdir)
    for (const record of records.slice(0, 3)) journal.append(record)
    expect(existsSync(journal.fileOf(RUN))).toBe(false)
    for (const record of records.slice(3)) journal.append(record) // another sender goes on with the run
    journal.close()
    expect(journalText(logdir)).toBe(`${lines.join('\n')}\n`)
    expect(readdirSync(join(logdir, RUN)).sort()).toEqual(['received.ndjson', 'records.ndjson'])
  })

  test("a trainer log of another run, or one short of the record, is no copy: the journal refuses a gap and writes nothing", () => {
    const logdir = logdirWithTrainerLog(`${lines[0]!.replaceAll(RUN, 'other-run')}\n`)
    const journal = new RunJournal(logdir)
    const file = journal.fileOf(RUN)
    expect(() => journal.append(records[2]!)).toThrow(`${file} holds no records; it cannot take seq 2 next`)
    expect(existsSync(file)).toBe(false)
    journal.append(records[0]!)
    journal.close()
    expect(journalText(logdir)).toBe(`${lines[0]}\n`)
  })

  test('a run journaled before keeps its journal, even once a trainer log beside it holds more', () => {
    const logdir = logdirWithTrainerLog(`${lines.join('\n')}\n`)
    writeFileSync(join(logdir, RUN, JOURNAL_FILE), `${lines.slice(0, 2).join('\n')}\n`)
    const journal = new RunJournal(logdir)
    journal.append(records[2]!)
    journal.close()
    expect(journalText(logdir)).toBe(`${lines.slice(0, 3).join('\n')}\n`)
  })
})
