import { expect, test } from 'vitest'
import { checkBatch } from './checkBatch.js'
import type { EndRecord, RunRecord, WireRecord } from './schema.js'

const open = (run: string): RunRecord => ({
  type: 'run', run, seq: 0, name: 'mlp', started: 1, schema: 1, host: 'node-1', profiler: 'sparselab-profiler 0.1.0', algorithm: null, layers: [], sampler: { every: 10 },
})
const end = (run: string, seq: number): EndRecord => ({ type: 'end', run, seq, step: 0, time: 1, status: 'finished' })
const lines = (records: WireRecord[]) => records.map((_, i) => i + 1)
const nothingKnown = () => false

test('a batch that opens its run, or continues a known one, passes', () => {
  const batch = [open('a'), end('a', 1)]
  expect(checkBatch(batch, lines(batch), nothingKnown)).toBeNull()
  expect(checkBatch([end('b', 3)], [1], (run) => run === 'b')).toBeNull()
})

test('a record of a run neither stored nor opened in the batch is an unknown run', () => {
  const batch = [open('a'), end('a', 1), end('b', 5)]
  expect(checkBatch(batch, [2, 4, 7], nothingKnown)).toEqual({
    kind: 'unknown-run', run: 'b', line: 7, path: 'run', message: 'run "b" is unknown here: send its run record (seq 0) first',
  })
})

test('one (run, seq) twice in a batch names both lines; the same seq in another run is fine', () => {
  const batch = [open('a'), open('b'), end('a', 1), end('b', 1), end('a', 1)]
  expect(checkBatch(batch, lines(batch), nothingKnown)).toEqual({
    kind: 'repeated-seq', run: 'a', line: 5, path: 'seq', message: 'seq 1 of run "a" repeats line 3 of this batch',
  })
})
