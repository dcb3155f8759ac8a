import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import * as vega from 'vega'
import * as vegaLite from 'vega-lite'
import { REPORT_SECTIONS, RunStore, buildCompareReport, buildReport, parseNdjson, type RunSnapshot, type VegaLiteSpec, type WireRecord } from '@sparselab-profiler/core'
import { VALID_TEXT as vectorsText } from '../../../test/support/vectors.js'

// Golden SVGs of every report spec for fixed fixture runs. After a deliberate change to a chart, run
// `npm run golden:update` and review the SVG diff like code.
const GOLDEN = fileURLToPath(new URL('../__golden__/', import.meta.url))
const UPDATE = process.env.UPDATE_GOLDEN === '1'

function snapshotOf(records: WireRecord[]): RunSnapshot {
  const store = new RunStore({ now: () => 0 })
  store.ingest(records)
  return store.snapshot(records[0]!.run)!
}

function vectorsRun(): RunSnapshot {
  const parsed = parseNdjson(vectorsText)
  if (!parsed.ok) throw new Error('vectors must parse')
  return snapshotOf(parsed.records)
}

/**
 * 14 layers (past the heatmap threshold), 20 samples, sparsity rising and histogram ranges widening by fixed
 * rules: gradual pruning from dense, so every weight was active at the start (active_ever = numel) and the
 * positions changed between samples are the ones pruned since the previous one.
 */
function manyLayersRun(sampled: (s: number) => boolean = () => true): RunSnapshot {
  const run = 'fixture-many-layers'
  const layers = Array.from({ length: 14 }, (_, i) => `block${i}.conv`)
  const records: WireRecord[] = [
    { type: 'run', run, seq: 0, name: 'many layers', started: 0, schema: 1, host: 'fixture-host', profiler: 'sparselab-profiler 0.1.0', algorithm: { name: 'SET', params: { sparsity: 0.8 } },
      layers: layers.map((name) => ({ name, shape: [16, 16], numel: 256, dtype: 'float32', format: 'dense', mask_source: 'inferred_zeros' })), sampler: { every: 10 } },
  ]
  const previous = new Map<string, number>() // each layer's nnz at the previous sample taken
  for (let s = 0; s < 20; s++) {
    if (!sampled(s)) continue
    records.push({
      type: 'sample', run, seq: records.length, step: s * 10, time: s, cost_ms: 1, step_ms: 10,
      layers: layers.map((name, i) => {
        const nnz = 256 - Math.min(255, (i + 1) * s)
        // the range widens with the steps, as a trained layer's does: the histograms differ in bin width
        const hist = { lo: -1 - s / 19, hi: 1 + s / 19, counts: [Math.floor(nnz / 4), nnz - Math.floor(nnz / 4) - Math.floor(nnz / 8), Math.floor(nnz / 8), 0] }
        const before = previous.get(name)
        previous.set(name, nnz)
        const explored = { active_ever: 256, ...(before === undefined ? {} : { mask_changed: before - nnz }) }
        return { name, nnz, numel: 256, sparsity: 1 - nnz / 256, bytes: 1024, dense_bytes: 1024, hist, nonfinite: 0, ...explored }
      }),
    })
  }
  return snapshotOf(records)
}

async function toSvg(spec: VegaLiteSpec): Promise<string> {
  // `width: "container"` needs a page; a fixed width makes the rendering reproducible in Node.
  const compiled = vegaLite.compile({ ...spec, width: 600 } as never).spec
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  // Vega numbers clip paths and gradients across every view of the process: renumber them per SVG, so a golden
  // does not depend on which charts were rendered before it
  const renumber = (text: string, pattern: RegExp, prefix: string) => {
    const ids = new Map<string, string>()
    return text.replace(pattern, (id) => ids.get(id) ?? (ids.set(id, `${prefix}${ids.size}`), ids.get(id)!))
  }
  return renumber(renumber(svg, /clip\d+/g, 'clip'), /gradient_\d+/g, 'gradient_')
}

const FIXTURES = { vectors: vectorsRun, 'many-layers': manyLayersRun }

describe.each(Object.entries(FIXTURES))('report charts of the %s fixture match their golden SVG', (fixture, make) => {
  const report = buildReport(make(), { sections: REPORT_SECTIONS, histogramLayers: ['fc1', 'head', 'block0.conv'] })
  test.each(report.charts.map((c) => [c.id, c]))('%s', async (id, chart) => {
    const svg = await toSvg(chart.spec)
    const file = `${GOLDEN}${fixture}-${id}.svg`
    if (UPDATE || !existsSync(file)) {
      if (!UPDATE) throw new Error(`no golden SVG ${file}: run npm run golden:update and review it`)
      mkdirSync(GOLDEN, { recursive: true })
      writeFileSync(file, svg)
    }
    expect(svg).toBe(readFileSync(file, 'utf8'))
    expect(svg).toMatch(/<path/) // marks were drawn
  })
})

/**
 * One run of a comparison: `layers` of 256 weights sampled every 10 steps to `steps`, each pruned from dense by
 * `rate` weights per sample to a floor of 32, with an update every 50 steps on every layer rewiring `rewire`
 * connections, and histograms whose range widens by `widen` over the run (so the runs' bins differ).
 */
function comparedRun(run: string, options: { layers: string[]; steps: number; rate: number; rewire: number; dropFraction: number; widen: number }): RunSnapshot {
  const { layers, steps, rate, rewire, dropFraction, widen } = options
  const records: WireRecord[] = [
    { type: 'run', run, seq: 0, name: `SET drop ${dropFraction}`, started: 0, schema: 1, host: 'fixture-host', profiler: 'sparselab-profiler 0.1.0',
      algorithm: { name: 'SET', params: { sparsity: 0.8, drop_fraction: dropFraction } },
      layers: layers.map((name) => ({ name, shape: [16, 16], numel: 256, dtype: 'float32', format: 'dense', mask_source: 'inferred_zeros' })), sampler: { every: 10 } },
  ]
  for (let step = 0; step <= steps; step += 10) {
    if (step > 0 && step % 50 === 0)
      for (const name of layers)
        for (const op of ['drop', 'grow'] as const)
          records.push({ type: 'event', run, seq: records.length, step, time: step, layer: name, op, count: rewire, exact: true, algorithm: 'SET', requested: null, rows: null })
    records.push({
      type: 'sample', run, seq: records.length, step, time: step, cost_ms: 1, step_ms: 10,
      layers: layers.map((name, i) => {
        const nnz = Math.max(32, 256 - rate * (i + 1) * (step / 10))
        const spread = 1 + (widen * step) / steps + i / 10
        const hist = { lo: -spread, hi: spread, counts: [Math.floor(nnz / 4), nnz - Math.floor(nnz / 4) - Math.floor(nnz / 8), Math.floor(nnz / 8), 0] }
        return { name, nnz, numel: 256, sparsity: 1 - nnz / 256, bytes: 1024, dense_bytes: 1024, hist, nonfinite: 0 }
      }),
    })
  }
  records.push({ type: 'end', run, seq: records.length, step: steps, time: steps, status: 'finished' })
  return snapshotOf(records)
}

const LAYERS = ['fc1', 'fc2', 'head']
const MANY = Array.from({ length: 14 }, (_, i) => `block${i}.conv`)
/** Each fixture: the runs, the alignment, and the per-layer charts kept (those of the first layers). */
const COMPARE_FIXTURES = {
  // two runs of different length, by step; B has a layer A lacks
  pair: {
    runs: () => [
      comparedRun('fixture-a', { layers: LAYERS, steps: 200, rate: 3, rewire: 6, dropFraction: 0.3, widen: 1 }),
      comparedRun('fixture-b', { layers: [...LAYERS, 'extra'], steps: 300, rate: 2, rewire: 9, dropFraction: 0.5, widen: 2 }),
    ],
    alignment: 'step' as const,
  },
  // three runs past the heatmap threshold, by fraction of training: whole-model overlays, heatmap differences
  many: {
    runs: () => [
      comparedRun('fixture-many-a', { layers: MANY, steps: 100, rate: 1, rewire: 4, dropFraction: 0.3, widen: 1 }),
      comparedRun('fixture-many-b', { layers: MANY, steps: 200, rate: 1, rewire: 2, dropFraction: 0.1, widen: 0.5 }),
      comparedRun('fixture-many-c', { layers: MANY, steps: 100, rate: 3, rewire: 8, dropFraction: 0.5, widen: 2 }),
    ],
    alignment: 'fraction' as const,
  },
}

describe.each(Object.entries(COMPARE_FIXTURES))('compare report charts of the %s fixture match their golden SVG', (fixture, { runs, alignment }) => {
  const report = buildCompareReport(runs(), { alignment })
  const kept = report.charts.filter((c) => !c.small || c.layer === report.sharedLayers[0] || c.layer === report.sharedLayers[1])
  test.each(kept.map((c) => [c.id, c]))('%s', async (id, chart) => {
    const svg = await toSvg(chart.spec)
    const file = `${GOLDEN}compare-${fixture}-${id}.svg`
    if (UPDATE || !existsSync(file)) {
      if (!UPDATE) throw new Error(`no golden SVG ${file}: run npm run golden:update and review it`)
      mkdirSync(GOLDEN, { recursive: true })
      writeFileSync(file, svg)
    }
    expect(svg).toBe(readFileSync(file, 'utf8'))
    expect(svg).toMatch(/<path/) // marks were drawn
  })
})

test('the charts and the CSV hold exactly the numbers of the run log', () => {
  const lines = vectorsText.trim().split('\n').map((line) => JSON.parse(line))
  const samples = lines.filter((r) => r.type === 'sample')
  const report = buildReport(vectorsRun(), { sections: REPORT_SECTIONS })
  const sparsity = report.charts.find((c) => c.id === 'sparsity')!.spec.datasets as Record<string, { step: number; layer: string; sparsity: number }[]>
  expect(sparsity.sparsity).toEqual(samples.flatMap((s) => s.layers.map((l: { name: string; sparsity: number }) => ({ step: s.step, layer: l.name, sparsity: l.sparsity }))))
  const csv = report.csv!.trim().split('\n').slice(1).map((row) => row.split(','))
  expect(csv).toEqual(
    samples.flatMap((s) =>
      s.layers.map((l: Record<string, number | string>) => [s.step, l.name, l.nnz, l.numel, l.sparsity, l.bytes, l.dense_bytes, l.nonfinite].map(String)),
    ),
  )
  const histogram = report.charts.find((c) => c.id === 'histogram-1')!.spec.datasets as Record<string, { count: number; series: string }[]>
  expect(histogram.histogram!.filter((r) => r.series === 'step 100').map((r) => r.count)).toEqual(samples.at(-1).layers[0].hist.counts)
})

test('the exploration charts hold the counts of the run log as shares', () => {
  const report = buildReport(vectorsRun(), { sections: REPORT_SECTIONS })
  const rows = (id: string) => (report.charts.find((c) => c.id === id)!.spec.datasets as Record<string, unknown[]>)
  // seq 4: fc1 was active at 5 of its 32 positions so far, and 2 changed since seq 1, where it held 4 of 4 now;
  // head is dense and says neither, so the whole model's figures are fc1's
  expect(rows('itop').exploration).toEqual([
    { step: 100, layer: 'fc1', itop: 5 / 32, maskDistance: 2 / 8 },
    { step: 100, layer: 'all layers', itop: 5 / 32, maskDistance: 2 / 8 },
  ])
  expect(rows('itop-1').exploration).toEqual([{ step: 100, layer: 'fc1', itop: 5 / 32, maskDistance: 2 / 8 }])
  // seq 3: the grow of 1 regrew 0 positions of the drop before it
  expect(rows('regrowth-1').regrowth).toEqual([{ step: 100, layer: 'fc1', grown: 1, regrown: 0, share: 0 }])
  expect(report.charts.filter((c) => c.group === 'exploration').map((c) => c.id)).toEqual(['itop', 'mask-distance'])
})

test("the report's heatmap has no empty column when the sampling interval widened", async () => {
  // every 10 steps up to step 40, then every 50: a heatmap binned by step would leave columns empty
  const report = buildReport(manyLayersRun((s) => s <= 4 || s % 5 === 0), { sections: ['sparsity'] })
  const spec = report.charts.find((c) => c.id === 'sparsity')!.spec
  const svg = await toSvg(spec)
  const group = svg.slice(svg.indexOf('class="mark-rect'), svg.indexOf('</g>', svg.indexOf('class="mark-rect')))
  // each cell is drawn as a path "M{x},{y}h{width}v{height}h-{width}Z"; a row is one layer
  const cells = [...group.matchAll(/d="M([\d.-]+),([\d.-]+)h([\d.-]+)v/g)].map(([, x, y, w]) => ({ x: Number(x), y: Number(y), w: Number(w) }))
  const rows = new Map<number, typeof cells>()
  for (const c of cells) rows.set(c.y, [...(rows.get(c.y) ?? []), c])
  expect(rows.size).toBe(14)
  for (const row of rows.values()) {
    row.sort((a, b) => a.x - b.x)
    expect(row.map((c) => c.x)).toHaveLength(8) // steps 0, 10, 20, 30, 40, 50, 100, 150
    expect(row[0]!.x).toBeCloseTo(0, 3)
    for (let i = 1; i < row.length; i++) expect(row[i]!.x).toBeCloseTo(row[i - 1]!.x + row[i - 1]!.w, 3) // no gap, no overlap
  }
})
