import { createHash } from 'node:crypto'
import escapeHtml from 'escape-html'
import {
  FLAGS_DOC,
  HISTOGRAM_SUBTITLE,
  chartConfig,
  describeSaving,
  formatBytes,
  formatLayerName,
  formatCount,
  formatPercent,
  memoryVsDense,
  type ReportChart,
  type ReportModel,
  type VegaLibraries,
} from '@sparselab-profiler/core'

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
:root{color-scheme:light dark;font-family:system-ui,sans-serif;--muted:color-mix(in srgb,CanvasText 65%,Canvas)}
body{margin:0 auto;max-width:1200px;padding:24px;background:Canvas;color:CanvasText}
h1{margin:0;font-size:1.5rem;color:inherit}
.byline{color:var(--muted);margin:4px 0 0}
.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;margin:20px 0 8px}
.headline div{border:1px solid #8884;border-radius:8px;padding:10px 14px}
.headline dt{font-size:.75rem;color:var(--muted)}.headline dd{margin:2px 0 0;font-size:1.25rem;font-weight:650;font-variant-numeric:tabular-nums}
.headline dd small{display:block;font-size:.8rem;font-weight:400;color:var(--muted)}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:6px 24px;margin:12px 0;font-size:.85rem}
.facts dt{font-size:.72rem;color:var(--muted)}.facts dd{margin:0}
time{white-space:nowrap}
section{margin:28px 0}h2{font-size:1.1rem;margin:0 0 6px}section>p{margin:0 0 10px;color:var(--muted);font-size:.85rem}
.table-scroll{max-height:480px;overflow:auto;border:1px solid #8884;border-radius:6px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;width:100%;font-size:.85rem}
th,td{padding:4px 10px;text-align:right;border-bottom:1px solid #8884}
thead th{position:sticky;top:0;background:Canvas}
th:first-child,td:first-child{text-align:left;overflow-wrap:anywhere}
.changes td,.changes th{text-align:left}.changes td:first-child,.changes th:first-child{text-align:right}
.chart{width:100%;min-width:0}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px 20px}
h3{font-size:.95rem;margin:18px 0 4px;padding-top:10px;border-top:1px solid #8884;overflow-wrap:anywhere}
footer{margin-top:32px;font-size:.75rem;color:var(--muted)}
.flags{list-style:none;padding:0;margin:0;display:grid;gap:8px}
.flag{border-left:4px solid #8888;padding:6px 12px;background:color-mix(in srgb,CanvasText 4%,Canvas);font-size:.9rem}
.flag strong{text-transform:uppercase;font-size:.72rem;letter-spacing:.04em}
.flag-critical{border-color:#D55E00}.flag-warning{border-color:#E69F00}.flag-info{border-color:#56B4E9}
.flag .fix{color:var(--muted)}
a{color:#0072B2}@media (prefers-color-scheme:dark){a{color:#56B4E9}}`

const BOOT = `
const report = JSON.parse(document.getElementById('report-data').textContent)
const dark = window.matchMedia('(prefers-color-scheme: dark)')
const views = []
function draw() {
  while (views.length) views.pop().finalize()
  const config = report.themes[dark.matches ? 'dark' : 'light']
  return Promise.all(report.charts.map(function (chart) {
    const element = document.getElementById('chart-' + chart.id)
    // ast: Vega interprets expressions instead of compiling them with new Function, which the CSP forbids
    return vegaEmbed(element, Object.assign({}, chart.spec, { config: config }), { renderer: 'svg', actions: false, ast: true }).then(function (result) {
      views.push(result)
      element.dataset.rendered = 'true'
    })
  }))
}
draw()
dark.addEventListener('change', draw)
const csvLink = document.getElementById('csv-link')
if (csvLink) csvLink.href = URL.createObjectURL(new Blob([report.csv], { type: 'text/csv' }))`

/** An ISO timestamp people read: no T, no milliseconds, kept on one line. */
function timestamp(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</time>`
}

function layerTable(report: ReportModel): string {
  const rows = report.layers!.map(
    (l) =>
      `<tr><td>${escapeHtml(formatLayerName(l.layer, l.aliases))}</td><td>${formatPercent(l.sparsity)}</td><td>${formatCount(l.nnz)} / ${formatCount(l.numel)}</td>` +
      `<td>${formatBytes(l.bytes)}</td><td>${formatBytes(l.denseBytes)}</td><td>${memoryVsDense(l.bytes, l.denseBytes)}</td><td>${formatCount(l.drops)}</td><td>${formatCount(l.grows)}</td></tr>`,
  )
  return `<section><h2>Layers at step ${formatCount(report.lastStep)}</h2><div class="table-scroll"><table><thead><tr><th>Layer</th><th>Sparsity</th><th>Non-zeros / weights</th><th>Memory used</th><th>Dense</th><th>Against dense</th><th>Dropped</th><th>Grown</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`
}

const GROUPS: Record<ReportChart['group'], { title: string; text: string }> = {
  training: { title: 'Training and sparsity', text: 'Every chart shares the step axis. Dashed rules mark the steps where the topology changed.' },
  topology: {
    title: 'Topology dynamics',
    text: 'Churn is the share of a layer’s active connections an update replaced; a run that settles shows it falling. Rewired connections were dropped and regrown at once; the net change is what pruning or growth alone left.',
  },
  exploration: {
    title: 'Exploration',
    text: 'In-time over-parameterization (ITOP, Liu et al. 2021) is the share of a layer’s weights that have been active at any point so far: a sparse run that explores keeps it climbing. Mask distance is the share of active positions that changed between two samples; it falls as the topology settles. The heavier dashed grey line is all layers together.',
  },
  layers: {
    title: 'Per layer',
    text: `Histograms: ${HISTOGRAM_SUBTITLE.join(' ')} Bands: the median, middle 50% and middle 90% of the non-zero weights over time. Regrowth: the share of an update’s grown connections that the layer’s previous update had dropped.`,
  },
}

function chartSections(report: ReportModel): string {
  return (Object.keys(GROUPS) as ReportChart['group'][])
    .map((group) => {
      const charts = report.charts.filter((c) => c.group === group)
      if (!charts.length) return ''
      const div = (c: ReportChart) => `<div class="chart" id="chart-${escapeHtml(c.id)}" role="img" aria-label="${escapeHtml(c.title)}"></div>`
      const note = group === 'layers' && report.layerChartsNote ? ` ${escapeHtml(report.layerChartsNote)}` : ''
      // small multiples: one row of charts per layer, under its name
      const layers = [...new Set(charts.map((c) => c.layer))]
      const body = charts.every((c) => c.small)
        ? layers.map((layer) => `<h3>${escapeHtml(layer ?? '')}</h3><div class="multiples">${charts.filter((c) => c.layer === layer).map(div).join('\n')}</div>`).join('\n')
        : charts.map(div).join('\n')
      return `<section data-group="${group}"><h2>${GROUPS[group].title}</h2><p>${escapeHtml(GROUPS[group].text)}${note}</p>${body}</section>`
    })
    .join('\n')
}

function findings(flags: ReportModel['flags']): string {
  if (!flags.length) return '<section data-findings><h2>Findings</h2><p>No flags: none of the rules in <a href="' + FLAGS_DOC + '">the flag reference</a> found anything in this run.</p></section>'
  const items = flags.map((f) => {
    const where = f.from === f.to ? `step ${formatCount(f.to)}` : `steps ${formatCount(f.from)}–${formatCount(f.to)}`
    return `<li class="flag flag-${f.severity}"><strong>${f.severity}</strong> <a href="${FLAGS_DOC}#${f.rule}">${f.rule}</a> · ${where}<br>${escapeHtml(f.message)}<br><span class="fix">Fix: ${escapeHtml(f.fix)}</span></li>`
  })
  return `<section data-findings><h2>Findings</h2><ul class="flags">${items.join('')}</ul></section>`
}

function storageChangesTable(changes: ReportModel['storageChanges']): string {
  const rows = changes.map((c) => {
    const now =
      c.format === null
        ? '<td colspan="4">no longer profiled</td>'
        : [c.format, c.maskSource, c.dtype, c.device ?? '–'].map((v) => `<td>${escapeHtml(v ?? '')}</td>`).join('')
    return `<tr><td>${formatCount(c.step)}</td><td>${escapeHtml(c.layer)}</td><td>${escapeHtml(c.reason)}</td>${now}</tr>`
  })
  return `<section><h2>Storage changes</h2><table class="changes"><thead><tr><th>Step</th><th>Layer</th><th>Change</th><th>Format</th><th>Mask source</th><th>Dtype</th><th>Device</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
}

function latencyTable(latency: NonNullable<ReportModel['latency']>): string {
  const ms = (x: number) => `${x.toFixed(2)} ms`
  return `<section><h2>Profiler latency</h2><table><thead><tr><th>Samples</th><th>Median</th><th>P95</th><th>Max</th></tr></thead><tbody><tr><td>${formatCount(latency.samples)}</td><td>${ms(latency.p50)}</td><td>${ms(latency.p95)}</td><td>${ms(latency.max)}</td></tr></tbody></table></section>`
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
  const totals = report.totals
  // the figure large, what it is measured against small under it
  const [saving = '', baseline = ''] = totals ? describeSaving(totals.savedBytes, totals.denseBytes).split(': ') : []
  const [, algorithm = report.algorithm, params = ''] = /^(.*?)(?: \((.*)\))?$/.exec(report.algorithm) ?? []
  const headline: [string, string, string][] = [
    ...(totals
      ? ([
          ['Model sparsity', formatPercent(totals.sparsity), `${formatCount(totals.nnz)} of ${formatCount(totals.numel)} weights active`],
          ['Memory', saving, `${baseline ? `${baseline}; ` : ''}${formatBytes(totals.bytes)} used`],
        ] as [string, string, string][])
      : []),
    ['Steps', formatCount(report.lastStep), report.statusText],
    ['Algorithm', algorithm, [params, report.model].filter(Boolean).join('; ')],
  ]
  const facts: [string, string][] = [
    ['Run', escapeHtml(report.runId)],
    ['Host', escapeHtml(report.host)],
    ['Started', timestamp(report.started)],
    ['Last record', timestamp(report.lastRecord)],
    ['Samples', escapeHtml(report.samples)],
    ['Sampling', escapeHtml(report.sampling)],
    ['Recorded by', escapeHtml(report.profiler)],
  ]
  const sections = [
    findings(report.flags),
    report.layers ? layerTable(report) : '',
    chartSections(report),
    report.storageChanges.length ? storageChangesTable(report.storageChanges) : '',
    report.latency ? latencyTable(report.latency) : '',
    report.csv ? `<section><h2>Raw data</h2><p><a id="csv-link" download="${escapeHtml(`${report.runId}.csv`)}" href="#">Download every sample as CSV</a> (${formatCount(report.csv.split('\n').length - 2)} rows)</p></section>` : '',
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
<header><h1>${escapeHtml(report.title)}</h1><p class="byline">SparseLab Profiler report · ${escapeHtml(report.statusText)}</p></header>
<dl class="headline">${headline.map(([k, v, note]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}<small>${escapeHtml(note)}</small></dd></div>`).join('')}</dl>
<dl class="facts">${facts.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>
<main>
${sections}
</main>
<footer>Generated ${timestamp(new Date().toISOString())} by SparseLab Profiler. Self-contained: no network needed.</footer>
${scripts.map((source) => `<script>${source}</script>`).join('\n')}
<script type="application/json" id="report-data">${inlineJson({ charts: report.charts, csv: report.csv, themes: { light: chartConfig('light'), dark: chartConfig('dark') } })}</script>
<script>${boot}</script>
</body>
</html>
`
}
