import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { applyToLayerHistory } from './applyToLayerHistory.js'
import { applyToOverview, liveOverview, type LiveOverview } from './liveOverview.js'
import { RunStore } from './RunStore.js'
import { layerHistory, runOverview } from './runViews.js'
import type { RunSnapshot } from './RunStore.js'
import type { EndStatus, LayerInfo, WireRecord } from './schema.js'
import { validateRecord } from './validateRecord.js'

// Folding a run's later records onto the views of its start (as the server answered them) gives the views of
// the whole run, by the same functions the server answers /overview and /layer with.

const RUN = 'prop-run'
const SEED = 20250415
const NAMES = Array.from({ length: 16 }, (_, i) => `l${i}`) // up to 16 layers: past the line chart's limit of 12
const info = (name: string, dtype = 'float32'): LayerInfo => ({ name, shape: [4, 4], numel: 16, dtype, format: 'dense_masked', mask_source: 'torch_prune' })

const action = fc.oneof(
  fc.record({
    kind: fc.constant('sample' as const),
    advance: fc.integer({ min: 1, max: 50 }),
    nnz: fc.array(fc.option(fc.nat({ max: 16 })), { minLength: 16, maxLength: 16 }),
    // exploration counts, where a layer has a mask: positions ever active (at least its nnz), and changed since its previous sample
    explored: fc.array(fc.option(fc.record({ ever: fc.nat({ max: 16 }), changed: fc.option(fc.nat({ max: 32 })) })), { minLength: 16, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('event' as const),
    layer: fc.nat(),
    op: fc.constantFrom('drop' as const, 'grow' as const),
    count: fc.nat({ max: 9 }),
    later: fc.boolean(),
    regrown: fc.option(fc.nat({ max: 9 })),
  }),
  fc.record({ kind: fc.constant('sampler' as const), every: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('layer' as const), layer: fc.nat({ max: NAMES.length - 1 }), leaves: fc.boolean() }),
)
const arbitraryRun = fc.record({
  layers: fc.oneof(fc.integer({ min: 1, max: 14 }), fc.constant(14)), // half of them past the threshold of 12
  actions: fc.array(action, { minLength: 1, maxLength: 60 }),
  end: fc.option(fc.constantFrom<EndStatus>('finished', 'crashed', 'interrupted')),
})

type RunShape = typeof arbitraryRun extends fc.Arbitrary<infer T> ? T : never

/** The records of one run the actions describe, seq 0 up: the run record, then samples of the tracked layers, events, sampler and layer records. */
function buildRun({ layers, actions, end }: RunShape): WireRecord[] {
  const known = new Map(NAMES.slice(0, layers).map((name) => [name, info(name)]))
  const tracked = new Set(known.keys())
  let step = 0
  const records: WireRecord[] = [
    { type: 'run', run: RUN, seq: 0, name: 'prop', started: 1, schema: 1, host: 'h', profiler: 'p', algorithm: null, layers: [...known.values()], sampler: { every: 1 } },
  ]
  const base = () => ({ run: RUN, seq: records.length, step, time: records.length })
  for (const a of actions) {
    if (a.kind === 'sample') {
      step += a.advance
      const shown = [...tracked].flatMap((name, i) => {
        const nnz = a.nnz[i]
        const explored = a.explored[i]
        const counts = explored ? { active_ever: Math.max(nnz ?? 0, explored.ever), ...(explored.changed === null ? {} : { mask_changed: explored.changed }) } : {}
        return nnz === null || nnz === undefined ? [] : [{ name, nnz, numel: 16, sparsity: 1 - nnz / 16, bytes: 4 * nnz, dense_bytes: 64, nonfinite: 0, hist: { lo: -1, hi: 1, counts: [nnz] }, ...counts }]
      })
      records.push({ type: 'sample', ...base(), cost_ms: 1, step_ms: 5, layers: shown })
    } else if (a.kind === 'event') {
      if (a.later) step += 1
      const layer = [...known.keys()][a.layer % known.size]!
      const regrown = a.op === 'grow' && a.regrown !== null ? { regrown: Math.min(a.count, a.regrown) } : {}
      records.push({ type: 'event', ...base(), layer, op: a.op, count: a.count, exact: true, algorithm: 'SET', requested: null, rows: null, ...regrown })
    } else if (a.kind === 'sampler') {
      records.push({ type: 'sampler', ...base(), every: a.every, overhead: 0.01 })
    } else {
      const name = NAMES[a.layer]!
      // a layer that leaves, one that comes back or joins, or one whose dtype changes
      const next = a.leaves ? null : info(name, known.has(name) && tracked.has(name) ? `${known.get(name)!.dtype}+` : 'float32')
      if (next) {
        known.set(name, next)
        tracked.add(name)
      } else tracked.delete(name)
      records.push({ type: 'layer', ...base(), layer: name, info: next, reason: next ? 'changed' : 'left the model' })
    }
  }
  if (end) records.push({ type: 'end', ...base(), status: end })
  return records
}

/** A store's snapshot of the first `count` records; its clock stands still, so a run without an end record stays live. */
function snapshotOf(records: readonly WireRecord[], count = records.length): RunSnapshot {
  const store = new RunStore({ now: () => 0 })
  store.ingest(records.slice(0, count))
  return store.snapshot(RUN)!
}

/** What the page sees of a view: a short matrix row reads as null where the run's later layers have no value. */
function padded(view: LiveOverview): LiveOverview {
  return { ...view, sparsity: view.sparsity.map((row) => view.run.layers.map((_, j) => row[j] ?? null)) }
}

const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

/** A generated run cut in two: the snapshot of its start (at least the run record), the records after it, the whole, and one layer of the start. */
const splitRun = fc.tuple(arbitraryRun.map(buildRun), fc.nat(), fc.nat()).map(([records, cutAt, pick]) => {
  const cut = 1 + (cutAt % records.length)
  const prefix = snapshotOf(records, cut)
  return { prefix, later: records.slice(cut), whole: snapshotOf(records), layer: prefix.run.layers[pick % prefix.run.layers.length]!.name }
})

describe('live views: a prefix view grown by the later records', () => {
  test('the generated runs are valid records', () => {
    fc.assert(
      fc.property(arbitraryRun.map(buildRun), (records) => {
        for (const record of records) expect(validateRecord(wire(record))).toMatchObject({ ok: true })
      }),
      { seed: SEED, numRuns: 100 },
    )
  })

  test('equals the overview of the whole run', () => {
    const points = 10_000 // more than any run holds: nothing is thinned on either side
    const explored = { layers: 0, modelOnly: 0, distances: 0 }
    fc.assert(
      fc.property(splitRun, ({ prefix, later, whole }) => {
        const folded = later.reduce((view, record) => applyToOverview(view, record, { points }), liveOverview(wire(runOverview(prefix, points))))
        const samples = later.filter((r) => r.type === 'sample').length
        expect(padded(folded)).toEqual({ ...padded(liveOverview(runOverview(whole, points))), liveSamples: samples })
        if (folded.exploration.some((r) => r.layer !== 'all layers')) explored.layers++
        else if (folded.exploration.length) explored.modelOnly++
        if (folded.exploration.some((r) => r.maskDistance !== null && r.maskDistance > 0)) explored.distances++
      }),
      { seed: SEED, numRuns: 300 },
    )
    // the runs exercised exploration per layer, past the threshold (the whole model only) and over previous samples
    expect(Object.values(explored).every((runs) => runs >= 10), JSON.stringify(explored)).toBe(true)
  })

  test("equals the layer's history over the whole run, for any layer the start has", () => {
    const points = 10_000
    fc.assert(
      fc.property(splitRun, ({ prefix, later, whole, layer }) => {
        const folded = later.reduce((history, record) => applyToLayerHistory(history, record, { points }), wire(layerHistory(prefix, layer, points)!))
        expect(folded).toEqual(layerHistory(whole, layer, points))
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  test('thinned, keeps a subsequence of the whole run: the first and newest point, at most twice `points`', () => {
    const points = 3
    fc.assert(
      fc.property(splitRun, ({ prefix, later, whole, layer }) => {
        const view = later.reduce((v, record) => applyToOverview(v, record, { points }), liveOverview(wire(runOverview(prefix, points))))
        const full = padded(liveOverview(runOverview(whole, 10_000)))
        const rowAt = new Map(full.steps.map((step, i) => [step, full.sparsity[i]])) // steps rise strictly
        expect(view.steps.length).toBeLessThanOrEqual(2 * points)
        expect([view.steps[0], view.steps.at(-1)]).toEqual([full.steps[0], full.steps.at(-1)])
        expect(view.steps).toEqual(full.steps.filter((step) => view.steps.includes(step)))
        expect(padded(view).sparsity).toEqual(view.steps.map((step) => rowAt.get(step)))
        expect([view.first, view.latest]).toEqual([full.first, full.latest])
        expect(view.exploration).toEqual(full.exploration.filter((row) => view.steps.includes(row.step)))

        const history = later.reduce((h, record) => applyToLayerHistory(h, record, { points }), wire(layerHistory(prefix, layer, points)!))
        const all = layerHistory(whole, layer, 10_000)!.points
        expect(history.points.length).toBeLessThanOrEqual(2 * points)
        expect(history.points).toEqual(all.filter((p) => history.points.some((q) => q.step === p.step)))
        expect([history.points[0], history.points.at(-1)]).toEqual([all[0], all.at(-1)])
      }),
      { seed: SEED, numRuns: 300 },
    )
  })
})
