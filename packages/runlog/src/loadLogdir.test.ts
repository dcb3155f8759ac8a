import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { RunStore, type WireRecord } from '@sparselab-profiler/core'
import { loadLogdir } from './loadLogdir.js'
import { JOURNAL_FILE } from './runFiles.js'
import { RunJournal } from './runJournal.js'
import { VECTOR_END as END, logdirWith, seqsOf, vectorLog as ndjson } from '../../../test/support/runFolders.js'
import { VALID_LINES as lines } from '../../../test/support/vectors.js'

const records = lines.map((line) => JSON.parse(line) as WireRecord)
const RUN = records[0]!.run
const TRAINER_LOG = 'records.ndjson'
const range = (n: number) => [...Array(n).keys()]

/** A store that journals to `logdir`, as startServer builds it. */
function journaledStore(logdir: string) {
  const journal = new RunJournal(logdir)
  return { journal, store: new RunStore({ persist: (record) => journal.append(record) }) }
}

describe('loadLogdir', () => {
  test('restores each run from whichever of its logs holds more records, ignoring a torn last line', async () => {
    const logdir = logdirWith({
      [`trainer-ahead/${TRAINER_LOG}`]: ndjson(0, END).replaceAll(RUN, 'trainer-ahead'),
      [`trainer-ahead/${JOURNAL_FILE}`]: ndjson(0, 3).replaceAll(RUN, 'trainer-ahead'),
      [`journal-ahead/${TRAINER_LOG}`]: ndjson(0, 2).replaceAll(RUN, 'journal-ahead'),
      [`journal-ahead/${JOURNAL_FILE}`]: `${ndjson(0, 4)}${lines[5]!.slice(0, 30)}`.replaceAll(RUN, 'journal-ahead'),
      [`only-journal/${JOURNAL_FILE}`]: ndjson(0, 5).replaceAll(RUN, 'only-journal'),
      'not-a-run/notes.txt': 'hello',
    })
    const store = new RunStore()
    const { loaded, skipped } = await loadLogdir(store, logdir)
    expect({ loaded: loaded.sort(), skipped }).toEqual({ loaded: ['journal-ahead', 'only-journal', 'trainer-ahead'], skipped: [] })
    expect([store.ack('trainer-ahead'), store.ack('journal-ahead'), store.ack('only-journal')]).toEqual([END, 4, 5])
    expect(seqsOf(store.snapshot('trainer-ahead')!)).toEqual(range(END + 1))
    expect(store.snapshot('trainer-ahead')!.status).toBe('finished')
  })

  test('restoring writes nothing; after a resend of overlapping seqs every seq is stored and journaled exactly once', async () => {
    const logdir = logdirWith({ [`${RUN}/${JOURNAL_FILE}`]: ndjson(0, 3) })
    const { journal, store } = journaledStore(logdir)
    await loadLogdir(store, logdir, { journal })
    expect(readFileSync(join(logdir, RUN, JOURNAL_FILE), 'utf8')).toBe(ndjson(0, 3))

    expect(store.ingest(records.slice(1))).toEqual({ [RUN]: END }) // the sender resends from its own, older ack
    expect(store.ingest(records)).toEqual({ [RUN]: END })
    journal.close()
    expect(readFileSync(join(logdir, RUN, JOURNAL_FILE), 'utf8')).toBe(ndjson(0, END))
    expect(seqsOf(store.snapshot(RUN)!)).toEqual(range(END + 1))
  })

  test('a training log ahead of the journal is copied into it, so the journal goes on with no gap', async () => {
    const logdir = logdirWith({ [`${RUN}/${TRAINER_LOG}`]: ndjson(0, 4), [`${RUN}/${JOURNAL_FILE}`]: ndjson(0, 1) })
    const { journal, store } = journaledStore(logdir)
    await loadLogdir(store, logdir, { journal })
    expect(readFileSync(join(logdir, RUN, JOURNAL_FILE), 'utf8')).toBe(ndjson(0, 4))
    expect(store.ingest(records.slice(3))).toEqual({ [RUN]: END })
    journal.close()
    expect(readFileSync(join(logdir, RUN, JOURNAL_FILE), 'utf8')).toBe(ndjson(0, END))
    expect(readFileSync(join(logdir, RUN, TRAINER_LOG), 'utf8')).toBe(ndjson(0, 4))
  })

  test('an ended run is not copied: nothing can follow its end record', async () => {
    const logdir = logdirWith({ [`${RUN}/${TRAINER_LOG}`]: ndjson(0, END), [`${RUN}/${JOURNAL_FILE}`]: ndjson(0, 2) })
    const { journal, store } = journaledStore(logdir)
    await loadLogdir(store, logdir, { journal })
    expect(store.ack(RUN)).toBe(END)
    expect(readFileSync(join(logdir, RUN, JOURNAL_FILE), 'utf8')).toBe(ndjson(0, 2))
  })

  test('streams a log of many batches and megabytes, lines split across read chunks', async () => {
    const sample = records[1] as Extract<WireRecord, { type: 'sample' }>
    const count = 6000
    const samples = Array.from({ length: count }, (_, i) => JSON.stringify({ ...sample, seq: i + 1, step: i * 10 }))
    const text = `${lines[0]}\n${samples.join('\n')}\n`
    expect(text.length).toBeGreaterThan(2 * 2 ** 20)
    const logdir = logdirWith({ [`${RUN}/${JOURNAL_FILE}`]: text })
    const store = new RunStore()
    await loadLogdir(store, logdir)
    expect(store.ack(RUN)).toBe(count)
    expect(store.snapshot(RUN)!.samples.at(-1)).toEqual({ ...sample, seq: count, step: (count - 1) * 10 })
  })

  test('a bad line skips that log with file, line and field; the other log fills in', async () => {
    const bad = { ...JSON.parse(lines[2]!), count: -4 }
    const logdir = logdirWith({
      [`${RUN}/${JOURNAL_FILE}`]: `${lines.slice(0, 2).join('\n')}\n${JSON.stringify(bad)}\n${lines.slice(3, 6).join('\n')}\n`,
      [`${RUN}/${TRAINER_LOG}`]: ndjson(0, 3),
      [`other/${TRAINER_LOG}`]: ndjson(0, 2),
    })
    const store = new RunStore()
    const { loaded, skipped } = await loadLogdir(store, logdir)
    expect(loaded.sort()).toEqual(['20250415-101500-resnet-set-1a2b'])
    expect(skipped.sort()).toEqual([
      `${join(logdir, RUN, JOURNAL_FILE)}: line 3, field "count": expected an integer ≥ 0, got -4`,
      `${join(logdir, 'other', TRAINER_LOG)}: seq 0 is a record of run "${RUN}", not of this folder's run "other"`,
    ])
    expect(store.ack(RUN)).toBe(3)
    expect(store.has('other')).toBe(false)
  })
})

describe('loadLogdir with a trainer logging into the same logdir', () => {
  test("a run with only the trainer's log is restored from it and journaled nowhere, before or after", async () => {
    const logdir = logdirWith({ [`${RUN}/${TRAINER_LOG}`]: ndjson(0, 4) })
    const { journal, store } = journaledStore(logdir)
    await loadLogdir(store, logdir, { journal })
    expect(store.ack(RUN)).toBe(4)
    writeFileSync(join(logdir, RUN, TRAINER_LOG), ndjson(0, END)) // the trainer goes on, its sender sends what it wrote
    expect(store.ingest(records.slice(5))).toEqual({ [RUN]: END })
    journal.close()
    expect(readdirSync(join(logdir, RUN))).toEqual([TRAINER_LOG])
    expect(seqsOf(store.snapshot(RUN)!)).toEqual(range(END + 1))
  })
})
