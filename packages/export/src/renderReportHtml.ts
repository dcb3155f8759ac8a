import { createHash } from 'node:crypto'
import escapeHtml from 'escape-html'
import { formatBytes, formatLayerName, formatPercent, type ReportModel, type VegaLibraries } from '@sparselab-profiler/core'

export interface RenderReportOptions {
  /** The Vega builds to inline; see loadVegaLibraries(). */
  libraries: VegaLibraries
}

// Inside a <script> element only "</script" (any case) and "<!--" can end or confuse it.
function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')
}

// JSON in a <script type="application/json"> element: escape "<" so no data can close the element.
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

const STYLE = `
:root{color-scheme:light dark;font-family:system-ui,sans-serif}
body{margin:0 auto;max-width:1100px;padding:24px}
h1{margin:0 0 4px;font-size:1.5rem}
dl{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:8px 24px;margin:16px 0}
dt{font-size:.75rem;opacity:.7}dd{margin:0;font-weight:600}
section{margin:24px 0}h2{font-size:1.1rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:4px 10px;text-align:right;border-bottom:1px solid #8884}
th:first-child,td:first-child{text-align:left}
.changes td,.changes th{text-align:left}.changes td:first-child,.changes th:first-child{text-align:right}
.chart{width:100%}
footer{margin-top:32px;font-size:.75rem;opacity:.7}`

const BOOT = `
const report = JSON.parse(document.getElementById('report-data').textContent)
for (const chart of report.charts) {
  const element = document.getElementById('chart-' + chart.id)
  // ast: Vega interprets expressions instead of compiling them with new Function, which the CSP forbids
  vegaEmbed(element, chart.spec, { renderer: 'svg', actions: false, ast: true }).then(function () { element.dataset.rendered = 'true' })
}
const csvLink = document.getElementById('csv-link')
if (csvLink) csvLink.href = URL.createObjectURL(new Blob([report.csv], { type: 'text/csv' }))`

function layerTable(report: ReportModel): string {
  const rows = report.layers!.map(
    (l) =>
      `<tr><td>${escapeHtml(formatLayerName(l.layer, l.aliases))}</td><td>${formatPercent(l.sparsity)}</td><td>${l.nnz.toLocaleString('en-US')} / ${l.numel.toLocaleString('en-US')}</td>` +
      `<td>${formatBytes(l.bytes)}</td><td>${formatBytes(l.denseBytes)}</td><td>${formatBytes(l.denseBytes - l.bytes)}</td><td>${l.drops}</td><td>${l.grows}</td></tr>`,
  )
  return `<section><h2>Memory and layers at step ${report.lastStep}</h2><table><thead><tr><th>Layer</th><th>Sparsity</th><th>NNZ</th><th>Memory used</th><th>Dense</th><th>Saved</th><th>Dropped</th><th>Grown</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
}

function storageChangesTable(changes: ReportModel['storageChanges']): string {
  const rows = changes.map((c) => {
    const now =
      c.format === null
        ? '<td colspan="4">no longer profiled</td>'
        : [c.format, c.maskSource, c.dtype, c.device ?? '–'].map((v) => `<td>${escapeHtml(v ?? '')}</td>`).join('')
    return `<tr><td>${c.step.toLocaleString('en-US')}</td><td>${escapeHtml(c.layer)}</td><td>${escapeHtml(c.reason)}</td>${now}</tr>`
  })
  return `<section><h2>Storage changes</h2><table class="changes"><thead><tr><th>Step</th><th>Layer</th><th>Change</th><th>Format</th><th>Mask source</th><th>Dtype</th><th>Device</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
}

function latencyTable(latency: NonNullable<ReportModel['latency']>): string {
  const ms = (x: number) => `${x.toFixed(2)} ms`
  return `<section><h2>Profiler latency</h2><table><thead><tr><th>Samples</th><th>Median</th><th>P95</th><th>Max</th></tr></thead><tbody><tr><td>${latency.samples}</td><td>${ms(latency.p50)}</td><td>${ms(latency.p95)}</td><td>${ms(latency.max)}</td></tr></tbody></table></section>`
}

/**
 * Renders a report as one HTML document with Vega, the specs and the data inlined: it opens from
 * file:// with no network.
 * @example writeFileSync('report.html', renderReportHtml(buildReport(snapshot), { libraries: loadVegaLibraries() }))
 */
export function renderReportHtml(report: ReportModel, { libraries }: RenderReportOptions): string {
  const scripts = [libraries.vega, libraries.vegaLite, libraries.vegaEmbed].map(inlineScript)
  const boot = BOOT
  // Only these exact scripts may run: no other script, no eval, no network.
  const hashes = [...scripts, boot].map((source) => `'sha256-${createHash('sha256').update(source).digest('base64')}'`)
  const csp = `default-src 'none'; script-src ${hashes.join(' ')}; style-src 'unsafe-inline'; img-src data: blob:`
  const facts: [string, string][] = [
    ['Run', report.runId],
    ['Algorithm', report.algorithm],
    ['Model', report.model],
    ['Host', report.host],
    ['Started', report.started],
    ['Last record', report.lastRecord],
    ['Last step', String(report.lastStep)],
    ['Status', report.status],
    ['Samples', report.samples],
    ['Recorded by', report.profiler],
  ]
  if (report.totals) {
    facts.push(['Model sparsity', formatPercent(report.totals.sparsity)])
    facts.push(['Non-zeros', `${report.totals.nnz.toLocaleString('en-US')} / ${report.totals.numel.toLocaleString('en-US')}`])
    facts.push(['Memory used / dense', `${formatBytes(report.totals.bytes)} / ${formatBytes(report.totals.denseBytes)}`])
    facts.push(['Memory saved', formatBytes(report.totals.savedBytes)])
  }
  const sections = [
    ...report.charts.map((c) => `<section><h2>${escapeHtml(c.title)}</h2><div class="chart" id="chart-${escapeHtml(c.id)}"></div></section>`),
    report.storageChanges.length ? storageChangesTable(report.storageChanges) : '',
    report.layers ? layerTable(report) : '',
    report.latency ? latencyTable(report.latency) : '',
    report.csv ? `<section><h2>Raw data</h2><p><a id="csv-link" download="${escapeHtml(`${report.runId}.csv`)}" href="#">Download every sample as CSV</a> (${report.csv.split('\n').length - 2} rows)</p></section>` : '',
  ].join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(report.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(report.title)}</h1><div>SparseLab Profiler report</div></header>
<dl>${facts.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')}</dl>
<main>
${sections}
</main>
<footer>Generated ${escapeHtml(new Date().toISOString())} by SparseLab Profiler. Self-contained: no network needed.</footer>
${scripts.map((source) => `<script>${source}</script>`).join('\n')}
<script type="application/json" id="report-data">${inlineJson({ charts: report.charts, csv: report.csv })}</script>
<script>${boot}</script>
</body>
</html>
`
}
