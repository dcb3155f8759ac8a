import escapeHtml from 'escape-html'
import { formatBytes, type ReportModel } from '@sparselab-profiler/core'
import type { VegaLibraries } from './vegaLibraries.js'

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
.chart{width:100%}
footer{margin-top:32px;font-size:.75rem;opacity:.7}`

const BOOT = `
for (const chart of JSON.parse(document.getElementById('report-data').textContent).charts) {
  const element = document.getElementById('chart-' + chart.id)
  vegaEmbed(element, chart.spec, { renderer: 'svg', actions: false }).then(function () { element.dataset.rendered = 'true' })
}`

/**
 * Renders a report as one HTML document with Vega, the specs and the data inlined: it opens from
 * file:// with no network.
 * @example writeFileSync('report.html', renderReportHtml(buildReport(snapshot), { libraries: loadVegaLibraries() }))
 */
export function renderReportHtml(report: ReportModel, { libraries }: RenderReportOptions): string {
  const facts: [string, string][] = [
    ['Run', report.runId],
    ['Algorithm', report.algorithm],
    ['Last step', String(report.lastStep)],
    ['Status', report.status],
  ]
  if (report.totals) {
    facts.push(['Model sparsity', `${(report.totals.sparsity * 100).toFixed(2)}%`])
    facts.push(['Non-zeros', `${report.totals.nnz.toLocaleString('en-US')} / ${report.totals.numel.toLocaleString('en-US')}`])
    facts.push(['Memory used / dense', `${formatBytes(report.totals.bytes)} / ${formatBytes(report.totals.denseBytes)}`])
    facts.push(['Memory saved', formatBytes(report.totals.savedBytes)])
  }
  const sections = report.charts
    .map((c) => `<section><h2>${escapeHtml(c.title)}</h2><div class="chart" id="chart-${escapeHtml(c.id)}"></div></section>`)
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
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
<script>${inlineScript(libraries.vega)}</script>
<script>${inlineScript(libraries.vegaLite)}</script>
<script>${inlineScript(libraries.vegaEmbed)}</script>
<script type="application/json" id="report-data">${inlineJson({ charts: report.charts })}</script>
<script>${BOOT}</script>
</body>
</html>
`
}
