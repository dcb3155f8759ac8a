import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { buildReport, parseNdjson, RunStore, type RunRecord, type WireRecord } from '@sparselab-profiler/core'
import { renderReportHtml } from './renderReportHtml.js'
import { loadVegaLibraries } from './vegaLibraries.js'

const text = readFileSync(fileURLToPath(new URL('../../../test/vectors/valid.ndjson', import.meta.url)), 'utf8')

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
  expect(page.match(/id="chart-[^"]+"/g)).toEqual(['id="chart-sparsity"', 'id="chart-events"', 'id="chart-histogram-1"', 'id="chart-histogram-2"'])
  expect(page).toContain('<dd>SET (sparsity=0.9, drop_fraction=0.3, update_freq=100)</dd>')
  expect(page).toContain('<dt>Model sparsity</dt><dd>75.00%</dd>') // 1 - (4 + 6) / (32 + 8) at the last sample
  expect(page).toContain('<dt>Memory saved</dt><dd>16 B</dd>') // (128 + 32) - (112 + 32)
})

test('a hostile layer name stays data: no element can be closed or opened by it', () => {
  const hostile = '</script><script>alert(1)</script>'
  const html = renderReportHtml(buildReport(snapshotWithLayerName(hostile)), { libraries: { vega: '', vegaLite: '', vegaEmbed: '' } })
  expect(html).not.toContain(hostile)
  expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  expect(html.match(/<script>/g)).toHaveLength(4) // three libraries + boot, nothing injected
})
