import { renameSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { readRunFolder } from './readRunFolder.js'
import { JOURNAL_FILE } from './runFiles.js'
import { VECTOR_END as END, logdirWith, seqsOf, vectorLog as ndjson } from '../../../test/support/runFolders.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'

const TRAINER_LOG = 'records.ndjson'
const range = (n: number) => [...Array(n).keys()]
const withBadCount = () => `${lines.slice(0, 2).join('\n')}\n${JSON.stringify({ ...JSON.parse(lines[2]!), count: -4 })}\n${lines.slice(3).join('\n')}\n`

describe('readRunFolder', () => {
  test("reads a run's whole history from its longest log", async () => {
    const logdir = logdirWith({ [`${RUN}/${TRAINER_LOG}`]: ndjson(0, 3), [`${RUN}/${JOURNAL_FILE}`]: ndjson(0, END) })
    const snapshot = (await readRunFolder(join(logdir, RUN), { run: RUN }))!
    expect(seqsOf(snapshot)).toEqual(range(END + 1))
    expect(await readRunFolder(join(logdir, 'missing'), { run: 'missing' })).toBeUndefined()
  })

  test('reads one log file named on its own, ignoring a torn last line', async () => {
    const logdir = logdirWith({ [`${RUN}/${JOURNAL_FILE}`]: `${ndjson(0, 4)}${lines[5]!.slice(0, 30)}` })
    const snapshot = (await readRunFolder(join(logdir, RUN, JOURNAL_FILE)))!
    expect(snapshot.run.run).toBe(RUN)
    expect(seqsOf(snapshot)).toEqual(range(5))
  })

  test('without a run, a renamed run folder reads as the run its logs record', async () => {
    const logdir = logdirWith({ [`${RUN}/${TRAINER_LOG}`]: ndjson(0, END) })
    renameSync(join(logdir, RUN), join(logdir, 'copy'))
    expect(seqsOf((await readRunFolder(join(logdir, 'copy')))!)).toEqual(range(END + 1))
  })

  test('a bad line in the longer log: the other fills in from where it stopped', async () => {
    const logdir = logdirWith({ [`${RUN}/${JOURNAL_FILE}`]: withBadCount(), [`${RUN}/${TRAINER_LOG}`]: ndjson(0, 4) })
    const snapshot = (await readRunFolder(join(logdir, RUN)))!
    expect(seqsOf(snapshot)).toEqual(range(5))
  })

  test('a log that reads to its end nowhere throws with the file, line and field', async () => {
    const logdir = logdirWith({ [`${RUN}/${TRAINER_LOG}`]: withBadCount(), [`other/${TRAINER_LOG}`]: ndjson(1, 3) })
    await expect(readRunFolder(join(logdir, RUN))).rejects.toThrow(`${join(logdir, RUN, TRAINER_LOG)}: line 3, field "count": expected an integer ≥ 0, got -4`)
    await expect(readRunFolder(join(logdir, 'other', TRAINER_LOG))).rejects.toThrow(`${join(logdir, 'other', TRAINER_LOG)}: line 1 must be the run record`)
  })
})
