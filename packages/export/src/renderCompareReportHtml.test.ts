import { expect, test } from 'vitest'
import { RunStore, buildCompareReport, type Flag, type RunRecord, type RunSnapshot, type SampleRecord, type WireRecord } from '@sparselab-profiler/core'
import { renderCompareReportHtml } from './renderCompareReportHtml.js'
import { validRecords } from '../../../test/support/vectors.js'

const STUB = { libraries: { vega: '', vegaLite: '', vegaEmbed: '' } }

/** The vectors' run (A), and a copy of it (B) under another id and name, with drop_fraction 0.5 and a layer A lacks. */
function runs(nameB = 'resnet-set drop 0.5'): [RunSnapshot, RunSnapshot] {
  const store = new RunStore({ now: () => 0 })
  const a = validRecords<WireRecord>()
  store.ingest(a)
  const b = validRecords<WireRecord>().map((r) => {
    const record = { ...r, run: 'run-b' } as WireRecord
    if (record.type === 'run') {
      const extra = { ...record.layers[0]!, name: 'extra' }
      return { ...record, name: nameB, algorithm: { name: 'SET', params: { ...record.algorithm!.params, drop_fraction: 0.5 } }, layers: [...record.layers, extra] } satisfies RunRecord
    }
    if (record.type === 'sample') return { ...record, layers: [...record.layers, { ...record.layers[0]!, name: 'extra' }] } satisfies SampleRecord
    return record
  })
  store.ingest(b)
  return [store.snapshot(a[0]!.run)!, store.snapshot('run-b')!]
}

test('the runs and their line styles first, then the summary with what differs highlighted, the layers only B has, each run’s findings, the charts', () => {
  const [a, b] = runs()
  const flag: Flag = { rule: 'dead-layer', severity: 'critical', layers: ['fc1'], from: 0, to: 100, message: 'fc1 is all zeros', evidence: {}, fix: 'check the mask' }
  const html = renderCompareReportHtml(buildCompareReport([a, { ...b, flags: [flag] }]), STUB)
  const page = html.slice(html.indexOf('<body>'), html.indexOf('<script>'))
  const order = ['<h1>', '<dl class="headline runs">', '<p class="alignment">', '<section data-summary>', '<section data-layers>', '<section data-findings>',
    '<section data-group="sparsity">', '<section data-group="topology">', '<section data-group="layers">']
  expect(order.map((marker) => page.indexOf(marker))).toEqual(order.map((marker) => page.indexOf(marker)).sort((x, y) => x - y))
  expect(page).toContain('<h1>resnet-set vs resnet-set drop 0.5</h1>')
  // A solid, B dashed: the swatch beside each run's name has the dash its lines have
  expect(page).toMatch(/<dt><svg class="dash"[^>]*><line [^>]*stroke-dasharray="1 0"\/><\/svg>Run A<\/dt><dd>resnet-set<small>SET \(sparsity=0\.9, drop_fraction=0\.3, update_freq=100\)<\/small>/)
  expect(page).toMatch(/<dt><svg class="dash"[^>]*><line [^>]*stroke-dasharray="6 3"\/><\/svg>Run B<\/dt><dd>resnet-set drop 0\.5<small>/)
  expect(page).toContain('<tr class="differs"><th scope="row">drop_fraction</th><td>0.3</td><td>0.5</td></tr>')
  expect(page).toContain('<tr><th scope="row">sparsity</th><td>0.9</td><td>0.9</td></tr>')
  expect(page).toContain('<ul class="only-in"><li>Only in <strong>B</strong> (1): extra</li></ul>')
  expect(page).toContain('2 layers in every run, matched by name')
  // each run's flags under its own heading, counted by severity
  expect(page).toContain('A: resnet-set · 1 critical, 0 warning, 0 info</h3><ul class="flags"><li class="flag flag-critical"><strong>critical</strong> <a href="https://github.com/sparselab-profiler/sparselab-profiler/blob/main/docs/flags.md#non-finite-weights">')
  expect(page).toContain('B: resnet-set drop 0.5 · 1 critical, 0 warning, 0 info</h3><ul class="flags"><li class="flag flag-critical"><strong>critical</strong> <a href="https://github.com/sparselab-profiler/sparselab-profiler/blob/main/docs/flags.md#dead-layer">')
  // every chart section says which dash is which run above its charts
  expect(page.match(/<p class="run-legend">/g)).toHaveLength(3)
  expect(page.match(/id="chart-[^"]+"/g)).toEqual(
    ['sparsity', 'sparsity-difference-B', 'churn', 'churn-difference-B', 'sparsity-1', 'histogram-first-1', 'histogram-last-1', 'events-1', 'sparsity-2', 'histogram-first-2', 'histogram-last-2']
      .map((id) => `id="chart-${id}"`),
  )
})

test('a hostile run name stays text in the title, the cards, the table and the legends; only the report’s scripts run', () => {
  const hostile = '</script><script>alert(1)</script>'
  const html = renderCompareReportHtml(buildCompareReport(runs(hostile)), STUB)
  expect(html).not.toContain(hostile)
  expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  expect(html.match(/<script>/g)).toHaveLength(4) // three libraries + boot
  expect(html).toContain(String.raw`\u003c/script>\u003cscript>alert(1)\u003c/script>`) // in the charts' JSON
})
