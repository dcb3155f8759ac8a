import { createHash } from 'node:crypto'
import escapeHtml from 'escape-html'
import { FLAGS_DOC, chartConfig, formatCount, type Flag, type VegaLibraries, type VegaLiteSpec } from '@sparselab-profiler/core'

// The page shell both reports share: styles for light and dark, the Vega builds and the specs inlined under a
// CSP that lets only these exact scripts run, and the boot script that draws every chart in the reader's scheme.

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

/** A chart as a report page places it: a full-width chart, or one of a layer's small multiples. */
export interface PlacedChart {
  id: string
  title: string
  small: boolean
  layer?: string
  spec: VegaLiteSpec
}

/** An ISO timestamp people read: no T, no milliseconds, kept on one line. */
export function timestamp(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</time>`
}

/** One flag as a list item: severity, rule (linked to its reference), steps, message and fix. */
export function flagItem(f: Flag): string {
  const where = f.from === f.to ? `step ${formatCount(f.to)}` : `steps ${formatCount(f.from)}–${formatCount(f.to)}`
  return `<li class="flag flag-${f.severity}"><strong>${f.severity}</strong> <a href="${FLAGS_DOC}#${f.rule}">${f.rule}</a> · ${where}<br>${escapeHtml(f.message)}<br><span class="fix">Fix: ${escapeHtml(f.fix)}</span></li>`
}

/**
 * A section of charts under a heading and a line of text (escaped here), then `lead` (HTML, e.g. a legend):
 * full-width charts, or small multiples, one grid of charts per layer under its name.
 */
export function chartSection(group: string, heading: { title: string; text: string }, charts: readonly PlacedChart[], lead = ''): string {
  const div = (c: PlacedChart) => `<div class="chart" id="chart-${escapeHtml(c.id)}" role="img" aria-label="${escapeHtml(c.title)}"></div>`
  const layers = [...new Set(charts.map((c) => c.layer))]
  const body = charts.length && charts.every((c) => c.small)
    ? layers.map((layer) => `<h3>${escapeHtml(layer ?? '')}</h3><div class="multiples">${charts.filter((c) => c.layer === layer).map(div).join('\n')}</div>`).join('\n')
    : charts.map(div).join('\n')
  return `<section data-group="${group}"><h2>${heading.title}</h2><p>${escapeHtml(heading.text)}</p>${lead}${body}</section>`
}

export interface ReportDocument {
  title: string
  /** HTML between `<body>` and `<main>`: the header, the headline, the facts. */
  header: string
  /** HTML of the sections inside `<main>`. */
  main: string
  /** The charts the boot script draws into their `#chart-<id>` elements. */
  charts: readonly PlacedChart[]
  /** What the `#csv-link` element, when there is one, downloads. */
  csv: string | null
  libraries: VegaLibraries
  /** CSS after the shared styles. @default none */
  style?: string
}

/**
 * The whole HTML page of a report with Vega, the specs and the data inlined: it opens from file:// with no
 * network, and its CSP lets only its own scripts run.
 * @example reportDocument({ title, header: '<h1>…</h1>', main: sections, charts, csv: null, libraries })
 */
export function reportDocument({ title, header, main, charts, csv, libraries, style = '' }: ReportDocument): string {
  const scripts = [libraries.vega, libraries.vegaLite, libraries.vegaEmbed].map(inlineScript)
  const boot = BOOT
  // Only these exact scripts may run: no other script, no eval, no network.
  const hashes = [...scripts, boot].map((source) => `'sha256-${createHash('sha256').update(source).digest('base64')}'`)
  const csp = `default-src 'none'; script-src ${hashes.join(' ')}; style-src 'unsafe-inline'; img-src data: blob:`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}${style}</style>
</head>
<body>
${header}
<main>
${main}
</main>
<footer>Generated ${timestamp(new Date().toISOString())} by SparseLab Profiler. Self-contained: no network needed.</footer>
${scripts.map((source) => `<script>${source}</script>`).join('\n')}
<script type="application/json" id="report-data">${inlineJson({ charts, csv, themes: { light: chartConfig('light'), dark: chartConfig('dark') } })}</script>
<script>${boot}</script>
</body>
</html>
`
}
