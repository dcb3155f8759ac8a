import { describe, expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'

// Every hostile batch goes to a store that already holds a run (seq 0-4: run record, two samples, two
// events); each answer must be a 4xx naming what and where, and the store must be exactly as before.
const STORED = lines.slice(0, 5)
const [SAMPLER_5, LAYER_6] = [lines[5]!, lines[6]!]
const RUN_ID_RULE = 'a run id (letters, digits, ".", "_", "-"; at most 128; no "..")'

function setup(options: { maxIngestBytes?: number } = {}) {
  const store = new RunStore({ now: () => 1_000_000 })
  store.ingest(STORED.map((line) => JSON.parse(line)))
  const app = createApp({ store, ...options })
  // duplex 'half' lets the body be a stream, sent without Content-Length
  const ingest = (body: BodyInit, query = '') =>
    app.request(`/api/ingest${query}`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson' }, duplex: 'half' } as RequestInit)
  const state = () => JSON.stringify({ runs: store.listRuns(), snapshots: store.listRuns().map((r) => store.snapshot(r.run)) })
  return { store, app, ingest, state }
}

/** Sends `body` and checks the exact answer and that nothing stored changed. */
async function expectRejected(body: BodyInit, status: number, answer: Record<string, unknown>, query = '') {
  const { ingest, state, store } = setup()
  const before = state()
  const response = await ingest(body, query)
  expect(response.status).toBe(status)
  expect(await response.json()).toEqual(answer)
  expect(state()).toBe(before)
  expect(store.ack(RUN)).toBe(4)
}

const edit = (line: string, change: (record: Record<string, unknown>) => void) => {
  const record = JSON.parse(line) as Record<string, unknown>
  change(record)
  return JSON.stringify(record)
}
const fieldError = (line: number, path: string, message: string) => ({ error: `line ${line}, field "${path}": ${message}`, line, path, message })
const lineError = (line: number, message: string) => ({ error: `line ${line}: ${message}`, line, path: '', message })

test('malformed NDJSON: the line that is not JSON is named', async () => {
  await expectRejected(`${SAMPLER_5}\nthis is not json\n${LAYER_6}`, 400, lineError(2, `not valid JSON (Unexpected token 'h', "this is not json" is not valid JSON)`))
  await expectRejected(`${SAMPLER_5}\n${LAYER_6.slice(0, 30)}`, 400, lineError(2, 'not valid JSON (Unterminated string in JSON at position 30)'))
})

test('wrong schema version in a run record', async () => {
  const newRun = edit(lines[0]!, (r) => Object.assign(r, { run: 'next-run', schema: 2 }))
  await expectRejected(newRun, 400, fieldError(1, 'schema', 'unsupported schema version 2; this server speaks 1'))
})

test('missing field', async () => {
  await expectRejected(edit(SAMPLER_5, (r) => delete r.overhead), 400, fieldError(1, 'overhead', 'is missing'))
})

test('extra field, including names that objects inherit', async () => {
  await expectRejected(edit(SAMPLER_5, (r) => (r.gpu = 'H200')), 400, fieldError(1, 'gpu', 'is not a field of this record'))
  await expectRejected(edit(SAMPLER_5, (r) => (r['constructor'] = 1)), 400, fieldError(1, 'constructor', 'is not a field of this record'))
  await expectRejected(SAMPLER_5.replace('{', '{"__proto__":{"admin":true},'), 400, fieldError(1, '__proto__', 'is not a field of this record'))
})

test('wrongly typed field', async () => {
  await expectRejected(edit(SAMPLER_5, (r) => (r.every = '20')), 400, fieldError(1, 'every', 'expected an integer ≥ 1, got "20"'))
  await expectRejected(edit(SAMPLER_5, (r) => (r.type = 'toString')), 400, fieldError(1, 'type', 'expected one of "run", "sample", "event", "sampler", "layer", "metric", "end", got "toString"'))
})

describe('NaN and Infinity, which JSON cannot carry', () => {
  test.each([
    ['a NaN literal', SAMPLER_5.replace('"overhead":0.0125', '"overhead":NaN'), 'overhead', 'NaN is not valid JSON (JSON numbers are finite)'],
    ['an Infinity literal', SAMPLER_5.replace('"time":1744712101.35', '"time":Infinity'), 'time', 'Infinity is not valid JSON (JSON numbers are finite)'],
    ['a -Infinity literal deep inside', lines[1]!.replace('"seq":1', '"seq":5').replace('"lo":-0.5', '"lo":-Infinity'), 'layers[1].hist.lo', '-Infinity is not valid JSON (JSON numbers are finite)'],
    ['1e999, which parses to Infinity', SAMPLER_5.replace('"overhead":0.0125', '"overhead":1e999'), 'overhead', 'expected a finite number, got Infinity'],
    ['-1e999 as an integer', SAMPLER_5.replace('"step":100', '"step":-1e999'), 'step', 'expected an integer ≥ 0, got -Infinity'],
  ])('%s is rejected with its field named', async (_, line, path, message) => {
    await expectRejected(`${line}\n${LAYER_6}`, 400, fieldError(1, path, message))
  })
})

test('negative seq', async () => {
  await expectRejected(edit(SAMPLER_5, (r) => (r.seq = -1)), 400, fieldError(1, 'seq', 'expected an integer ≥ 1, got -1'))
  await expectRejected(edit(lines[0]!, (r) => Object.assign(r, { run: 'next-run', seq: -1 })), 400, fieldError(1, 'seq', 'expected one of 0, got -1'))
})

describe('repeated seq', () => {
  test('twice inside one batch is a broken batch: 400, nothing stored', async () => {
    await expectRejected(`${SAMPLER_5}\n${LAYER_6}\n${SAMPLER_5}`, 400, fieldError(3, 'seq', `seq 5 of run "${RUN}" repeats line 1 of this batch`))
  })

  test('again in a later batch is a resend: 200 with the ack, stored once', async () => {
    const { ingest, store, state } = setup()
    expect(await (await ingest(SAMPLER_5)).json()).toEqual({ acks: { [RUN]: 5 } })
    const once = state()
    const resend = await ingest(SAMPLER_5)
    expect(resend.status).toBe(200)
    expect(await resend.json()).toEqual({ acks: { [RUN]: 5 } })
    expect(state()).toBe(once)
    expect(await (await ingest(lines.slice(3).join('\n'))).json()).toEqual({ acks: { [RUN]: 8 } }) // overlaps seq 3-5
    expect(store.snapshot(RUN)!.sampler.map((r) => r.seq)).toEqual([5])
  })
})

describe('unknown run', () => {
  const OTHER = 'other-run'
  const otherSample = edit(lines[1]!, (r) => (r.run = OTHER))
  const unknown = (line: number) => ({ ...fieldError(line, 'run', `run "${OTHER}" is unknown here: send its run record (seq 0) first`), acks: { [OTHER]: -1 } })

  test('records of a run whose run record never came get 409 and an ack of -1', async () => {
    await expectRejected(otherSample, 409, unknown(1))
  })

  test('a batch mixing a known run with an unknown one stores neither', async () => {
    await expectRejected(`${SAMPLER_5}\n${otherSample}`, 409, unknown(2))
  })

  test('a batch that begins with the run record is taken whole', async () => {
    const { ingest, store } = setup()
    const response = await ingest([edit(lines[0]!, (r) => (r.run = OTHER)), otherSample].join('\n'))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ acks: { [OTHER]: 1 } })
    expect(store.snapshot(OTHER)!.samples.map((s) => s.seq)).toEqual([1])
  })
})

describe('oversize', () => {
  test('a body over the limit gets 413, with or without Content-Length', async () => {
    const { ingest, state, app } = setup({ maxIngestBytes: 1000 })
    const before = state()
    const body = Array(10).fill(SAMPLER_5).join('\n')
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body))
        controller.close()
      },
    })
    for (const sent of [body, streamed]) {
      const response = await ingest(sent)
      expect(response.status).toBe(413)
      expect(await response.json()).toEqual({ error: 'body larger than 1000 bytes; send smaller batches' })
    }
    const declared = await app.request('/api/ingest', { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson', 'Content-Length': String(body.length) } })
    expect([declared.status, await declared.json()]).toEqual([413, { error: 'body larger than 1000 bytes; send smaller batches' }])
    expect(state()).toBe(before)
  })

  const withBins = (bins: number) =>
    edit(lines[1]!, (r) => {
      r.seq = 5
      ;(r.layers as { hist: { counts: number[] } }[])[0]!.hist.counts = Array(bins).fill(0)
    })

  test('a histogram over 1024 bins is refused, 1024 bins are fine', async () => {
    await expectRejected(withBins(1025), 400, fieldError(1, 'layers[0].hist.counts', 'expected between 1 and 1024 items, got 1025'))
    const { ingest } = setup()
    expect(await (await ingest(withBins(1024))).json()).toEqual({ acks: { [RUN]: 5 } })
  })
})

describe('run ids that climb out of the log directory', () => {
  test.each(['../x', '..', 'a/b', 'a\\b', '/etc/passwd', '..%2Fx'])('in a record: %s', async (id) => {
    await expectRejected(edit(SAMPLER_5, (r) => (r.run = id)), 400, fieldError(1, 'run', `expected ${RUN_ID_RULE}, got ${JSON.stringify(id)}`))
  })

  test.each([
    ['../x', '../x'],
    ['..%2Fx', '../x'],
    ['%2e%2e%2fetc', '../etc'],
    ['a%2Fb', 'a/b'],
    ['a%5Cb', 'a\\b'],
    ['..%252Fx', '..%2Fx'],
  ])('in a heartbeat: ?run=%s', async (query, id) => {
    await expectRejected('', 400, { error: `query parameter "run" must be a run id, got ${JSON.stringify(id)}` }, `?run=${query}`)
  })
})

describe('binary garbage', () => {
  test('bytes that are not UTF-8 are refused, naming their line, instead of being stored as U+FFFD', async () => {
    const invalid = new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x41, 0xc3])
    const body = new Uint8Array([...new TextEncoder().encode(`${SAMPLER_5}\n`), ...invalid])
    await expectRejected(body, 400, lineError(2, 'not valid UTF-8; NDJSON must be UTF-8 text'))
    const renamed = new TextEncoder().encode(edit(lines[1]!, (r) => Object.assign(r, { seq: 5 })).replace('"name":"fc1"', '"name":"fc\u00e9"'))
    const latin1 = renamed.slice() // é as one Latin-1 byte instead of UTF-8's two
    const at = latin1.indexOf(0xc3)
    await expectRejected(new Uint8Array([...latin1.subarray(0, at), 0xe9, ...latin1.subarray(at + 2)]), 400, lineError(1, 'not valid UTF-8; NDJSON must be UTF-8 text'))
  })

  test('NUL and other control bytes are valid UTF-8 but not JSON', async () => {
    await expectRejected(new Uint8Array([0x00, 0x01, 0x02, 0x7b, 0x7d]), 400, lineError(1, `not valid JSON (Unexpected token '\u0000', "\u0000\u0001\u0002{}" is not valid JSON)`))
  })
})
