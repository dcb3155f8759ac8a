import fc from 'fast-check'
import { expect, test } from 'vitest'
import { RunStore, isValidRunId } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'

// Properties of POST /api/ingest for any input: never a 5xx; always JSON, either `acks` (200) or an
// `error` string (4xx); a rejected batch leaves the store exactly as it was; what is stored is every
// seq from 0 up to the run's ack, each once.
const RUNS = 30

/** A store holding the valid run up to seq `storedUpTo` (-1: nothing), and an app on it. */
function fixture(storedUpTo: number) {
  const store = new RunStore({ now: () => 1_000_000 })
  if (storedUpTo >= 0) store.ingest(lines.slice(0, storedUpTo + 1).map((line) => JSON.parse(line)))
  const app = createApp({ store })
  const state = () => JSON.stringify({ runs: store.listRuns(), snapshots: store.listRuns().map((r) => store.snapshot(r.run)) })
  return { store, app, state }
}

function expectEverySeqOnce(store: RunStore) {
  for (const { run } of store.listRuns()) {
    const s = store.snapshot(run)!
    const seqs = [s.run, ...s.samples, ...s.events, ...s.sampler, ...s.layerChanges, ...s.metrics, ...(s.end ? [s.end] : [])].map((r) => r.seq).sort((a, b) => a - b)
    expect(seqs).toEqual([...Array(s.lastSeq + 1).keys()])
  }
}

/** Sends one body and checks the properties every answer must have; returns the status and answer. */
async function ingestChecked(storedUpTo: number, body: string | Uint8Array<ArrayBuffer>, query = '') {
  const { store, app, state } = fixture(storedUpTo)
  const before = state()
  const response = await app.request(`/api/ingest${query}`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson' } })
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/)
  const answer = (await response.json()) as { acks?: Record<string, number>; error?: string }
  if (response.status === 200) {
    expect(Object.keys(answer)).toEqual(['acks'])
    for (const [run, ack] of Object.entries(answer.acks!)) expect(ack).toBe(store.ack(run))
    expectEverySeqOnce(store)
  } else {
    expect([400, 409, 413]).toContain(response.status)
    expect(typeof answer.error).toBe('string')
    expect(state()).toBe(before)
  }
  return { status: response.status, answer }
}

const storedUpTo = fc.integer({ min: -1, max: lines.length - 1 })

test('arbitrary bytes', async () => {
  await fc.assert(
    fc.asyncProperty(storedUpTo, fc.uint8Array({ maxLength: 400 }), async (k, bytes) => {
      await ingestChecked(k, bytes)
    }),
    { numRuns: RUNS * 10 },
  )
})

test('arbitrary lines of text, control characters and lone surrogates included', async () => {
  await fc.assert(
    fc.asyncProperty(storedUpTo, fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 6 }), async (k, texts) => {
      await ingestChecked(k, texts.join('\n'))
    }),
    { numRuns: RUNS * 10 },
  )
})

test('arbitrary JSON values, and objects that look like records', async () => {
  const type = fc.constantFrom('run', 'sample', 'event', 'sampler', 'metric', 'end', 'constructor', 'toString', '__proto__')
  const run = fc.constantFrom(RUN, 'other-run', '../x', 'constructor', '')
  const lookalike = fc
    .tuple(fc.record({ type, run, seq: fc.integer({ min: -2, max: 8 }) }), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }))
    .map(([head, rest]) => ({ ...rest, ...head }))
  const line = fc.oneof(fc.jsonValue({ maxDepth: 4 }), lookalike).map((value) => JSON.stringify(value) ?? 'null')
  await fc.assert(
    fc.asyncProperty(storedUpTo, fc.array(line, { maxLength: 6 }), async (k, batch) => {
      await ingestChecked(k, batch.join('\n'))
    }),
    { numRuns: RUNS * 10 },
  )
})

// A mutation of one valid record: a value set anywhere, a field dropped, a field added.
type Path = (string | number)[]
function pathsOf(value: unknown, at: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [at]
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value)
  return [at, ...entries.flatMap(([key, v]) => pathsOf(v, [...at, key]))]
}
function containerAt(record: unknown, path: Path): Record<string | number, unknown> {
  return path.slice(0, -1).reduce<unknown>((v, key) => (v as Record<string | number, unknown>)[key], record) as Record<string | number, unknown>
}

// Stand-ins JSON.stringify can write, swapped for the literals JSON cannot carry once the line is text.
const NON_FINITE = { NaN: '\u0000NaN', Infinity: '\u0000Infinity', '-Infinity': '\u0000-Infinity', '1e999': '\u00001e999' } as const
const strangeValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1.5, -0.5, 2 ** 53, 1e308, '', '../x', 'a\\b', true, null, [], {}),
  fc.constantFrom(...Object.values(NON_FINITE)),
)
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), target: fc.nat(), value: strangeValue }),
  fc.record({ kind: fc.constant('drop' as const), target: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), target: fc.nat(), key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('constructor', 'toString', '__proto__', 'gpu')), value: strangeValue }),
)

function mutate(record: Record<string, unknown>, m: { kind: 'set' | 'drop' | 'add'; target: number; key?: string; value?: unknown }): void {
  const paths = pathsOf(record).filter((p) => p.length > 0)
  const path = paths[m.target % paths.length]!
  const parent = containerAt(record, path)
  const last = path.at(-1)!
  // a copy: fast-check hands out the same constant objects again, and a later mutation must not make them cyclic
  const value = structuredClone(m.value)
  if (m.kind === 'set') parent[last] = value
  else if (m.kind === 'drop') Array.isArray(parent) ? parent.splice(last as number, 1) : delete parent[last]
  else {
    const target = typeof parent[last] === 'object' && parent[last] !== null && !Array.isArray(parent[last]) ? (parent[last] as Record<string, unknown>) : record
    Object.defineProperty(target, m.key!, { value, enumerable: true, writable: true, configurable: true })
  }
}

function toLine(record: unknown): string {
  let text = JSON.stringify(record)
  for (const [literal, marker] of Object.entries(NON_FINITE)) text = text.replaceAll(JSON.stringify(marker), literal)
  return text
}

test('valid records mutated, dropped, added to, repeated and shuffled', async () => {
  const batch = fc.record({
    picks: fc.array(fc.nat({ max: lines.length - 1 }), { minLength: 1, maxLength: 9 }), // repeats and any order
    mutations: fc.array(fc.tuple(fc.nat(), mutation), { maxLength: 2 }),
  })
  await fc.assert(
    fc.asyncProperty(storedUpTo, batch, async (k, { picks, mutations }) => {
      const sent = picks.map((i) => JSON.parse(lines[i]!) as Record<string, unknown>)
      for (const [at, m] of mutations) mutate(sent[at % sent.length]!, m)
      const { status } = await ingestChecked(k, sent.map(toLine).join('\n'))
      expect([200, 400, 409]).toContain(status)
    }),
    { numRuns: RUNS * 20 },
  )
})

test('a slice of the valid log is taken exactly when it continues the run, else 409 naming seq 0', async () => {
  const slice = fc.tuple(fc.nat({ max: lines.length - 1 }), fc.nat({ max: lines.length - 1 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const)
  await fc.assert(
    fc.asyncProperty(storedUpTo, slice, async (k, [from, to]) => {
      const { status, answer } = await ingestChecked(k, lines.slice(from, to + 1).join('\n'))
      if (k < 0 && from > 0) {
        expect(status).toBe(409)
        expect(answer).toMatchObject({ acks: { [RUN]: -1 }, line: 1, path: 'run' })
      } else {
        expect(status).toBe(200)
        expect(answer).toEqual({ acks: { [RUN]: from <= k + 1 ? Math.max(k, to) : k } })
      }
    }),
    { numRuns: RUNS * 5 },
  )
})

test('a heartbeat answers 200 exactly for a run id, 400 for anything else', async () => {
  const id = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom(RUN, '..', '../x', 'a/b', 'a\\b', 'x'.repeat(129)))
  await fc.assert(
    fc.asyncProperty(storedUpTo, id, async (k, run) => {
      const { status, answer } = await ingestChecked(k, '', `?run=${encodeURIComponent(run)}`)
      if (isValidRunId(run)) expect(answer).toEqual({ acks: { [run]: run === RUN ? k : -1 } })
      else expect([status, answer]).toEqual([400, { error: `query parameter "run" must be a run id, got ${JSON.stringify(run)}` }])
    }),
    { numRuns: RUNS * 10 },
  )
})
