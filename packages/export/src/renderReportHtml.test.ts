import { expect, test } from 'vitest'
import { buildReport, parseNdjson, RunStore, type LayerRecord, type RunRecord, type SampleRecord, type WireRecord } from '@sparselab-profiler/core'
import { loadVegaLibraries } from '@sparselab-profiler/runlog'
import { renderReportHtml } from './renderReportHtml.js'
import { VALID_TEXT as text } from '../../../test/support/vectors.js'


function snapshotWithLayerName(name: string) {
  const parsed = parseNdjson(text)
  if (!parsed.ok) throw new Error('vectors must parse')
  const records = JSON.parse(JSON.stringify(parsed.records).replaceAll('"fc1"', JSON.stringify(name))) as WireRecord[]
  const store = new RunStore()
  store.ingest(records)
  return store.snapshot((records[0] as RunRecord).run)!
}

test('inlines the three Vega builds and every chart spec', () => {
  const libraries = loadVegaLibraries()
  const html = renderReportHtml(buildReport(snapshotWithLayerName('fc1')), { libraries })
  expect(html.length).toBeGreaterThan(libraries.vega.length + libraries.vegaLite.length + libraries.vegaEmbed.length)
  const page = html.slice(0, html.indexOf('<script>'))
  // training scalars, sparsity and the user's metrics first, then the topology and the exploration, then per-layer
  // small multiples (fc1 has events and a mask, head neither)
  expect(page.match(/id="chart-[^"]+"/g)).toEqual(
    [
      ...['scalar-loss', 'scalar-accuracy', 'scalar-lr', 'sparsity', 'metric-mean_abs_active', 'metric-active', 'churn', 'events', 'itop', 'mask-distance'],
      ...['histogram-1', 'bands-1', 'churn-1', 'events-1', 'itop-1', 'mask-distance-1', 'regrowth-1', 'histogram-2', 'bands-2'],
    ].map((id) => `id="chart-${id}"`),
  )
  expect(page).toContain('<section data-group="exploration"><h2>Exploration</h2>')
  // the headline comes first: 1 - (4 + 6) / (32 + 8) at the last sample; (128 + 32) - (112 + 32) bytes saved
  expect(page.indexOf('<dl class="headline">')).toBeLessThan(page.indexOf('<dl class="facts">'))
  expect(page).toContain('<dt>Model sparsity</dt><dd>75.00%<small>10 of 40 weights active</small></dd>')
  expect(page).toContain('<dt>Memory</dt><dd>16 B saved<small>10% of the 160 B dense baseline; 144 B used</small></dd>')
  expect(page).toContain('<dt>Algorithm</dt><dd>SET<small>sparsity=0.9, drop_fraction=0.3, update_freq=100; 2 profiled layers, 40 weights (padded_csr 1, dense 1)</small></dd>')
  expect(page).toContain('<dt>Samples</dt><dd>2 samples, every one taken</dd>')
  expect(page).toContain('<dt>Started</dt><dd><time datetime="2025-04-15T10:15:00.500Z">2025-04-15 10:15:00 UTC</time></dd>')
  expect(page).toContain('<dt>Sampling</dt><dd>every 20 steps since step 100, widened from 10 when it cost 1.3%, to stay under the 1% budget</dd>')
  expect(page).not.toMatch(/\blive\b/)
})

test('a run thinned to fit memory says so, and from which step on every sample is there', () => {
  const parsed = parseNdjson(text)
  if (!parsed.ok) throw new Error('vectors must parse')
  const [run, sample] = parsed.records as [RunRecord, SampleRecord]
  // a budget of one byte: the newest sample stays whole, the older ones thin out to the first
  const store = new RunStore({ maxSampleBytesPerRun: 1 })
  store.ingest([run, ...Array.from({ length: 12 }, (_, i) => ({ ...sample, seq: i + 1, step: i * 10 }))])
  const snapshot = store.snapshot(run.run)!
  expect(snapshot.samples.map((s) => s.step)).toEqual([0, 110])
  expect(snapshot.thinning).toEqual({ keepsOneIn: 16, fullFrom: 110 })
  const page = renderReportHtml(buildReport(snapshot), { libraries: { vega: '', vegaLite: '', vegaEmbed: '' } })
  expect(page).toContain('<dt>Samples</dt><dd>2 samples; before step 110, one in 16 (thinned to fit memory)</dd>')
})

test('a hostile layer name stays data: no element can be closed or opened by it', () => {
  const hostile = '</script><script>alert(1)</script>'
  const html = renderReportHtml(buildReport(snapshotWithLayerName(hostile)), { libraries: { vega: '', vegaLite: '', vegaEmbed: '' } })
  expect(html).not.toContain(hostile)
  expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  expect(html.match(/<script>/g)).toHaveLength(4) // three libraries + boot, nothing injected
})

test('lists every storage change with its step, layer, reason and new description, and names tied weights', () => {
  const parsed = parseNdjson(text)
  if (!parsed.ok) throw new Error('vectors must parse')
  const records = parsed.records.filter((r) => r.type !== 'end')
  const run = records[0] as RunRecord
  const gone: LayerRecord = { type: 'layer', run: run.run, seq: records.length, step: 12_300, time: 1744712102, layer: 'fc1', info: null, reason: 'module <fc1> removed' }
  const store = new RunStore()
  store.ingest([...records, gone])
  const report = buildReport(store.snapshot(run.run)!)
  const page = renderReportHtml(report, { libraries: { vega: '', vegaLite: '', vegaEmbed: '' } })
  expect(page).toContain(
    '<section><h2>Storage changes</h2><table class="changes"><thead><tr><th>Step</th><th>Layer</th><th>Change</th><th>Format</th><th>Mask source</th><th>Dtype</th><th>Device</th></tr></thead><tbody>' +
      '<tr><td>100</td><td>head</td><td>dtype changed (float32 → bfloat16)</td><td>dense</td><td>inferred_zeros</td><td>bfloat16</td><td>cpu</td></tr>' +
      '<tr><td>12,300</td><td>fc1</td><td>module &lt;fc1&gt; removed</td><td colspan="4">no longer profiled</td></tr></tbody></table></section>',
  )
  expect(page).toContain('<tr><td>head (also: embed.weight)</td><td>25.00%</td>')
  expect(page).toContain('; 1 profiled layers, 8 weights (dense 1); 1 no longer profiled</small>')
})

test('a run whose layers never changed has no storage changes section', () => {
  const parsed = parseNdjson(text)
  if (!parsed.ok) throw new Error('vectors must parse')
  const store = new RunStore()
  store.ingest(parsed.records.filter((r) => r.type !== 'layer').map((r, seq) => ({ ...r, seq })))
  const page = renderReportHtml(buildReport(store.snapshot(parsed.records[0]!.run)!), { libraries: { vega: '', vegaLite: '', vegaEmbed: '' } })
  expect(page).not.toContain('Storage changes')
  expect(page).toContain('<tr><td>fc1</td><td>87.50%</td>')
})
