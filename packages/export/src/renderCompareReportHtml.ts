import escapeHtml from 'escape-html'
import { FLAGS_DOC, type CompareChart, type CompareGroup, type CompareReportModel, type CompareReportRun, type VegaLibraries } from '@sparselab-profiler/core'
import { chartSection, flagItem, reportDocument } from './reportDocument.js'

export interface RenderCompareReportOptions {
  /** The Vega builds to inline; see loadVegaLibraries(). */
  libraries: VegaLibraries
}

const STYLE = `
.runs{grid-template-columns:repeat(auto-fit,minmax(220px,1fr))}
.runs dd{overflow-wrap:anywhere}
.dash{display:inline-block;vertical-align:middle;margin-right:6px}
.alignment{color:var(--muted);font-size:.85rem;margin:8px 0 0}
.summary th,.summary td{text-align:left;vertical-align:top;overflow-wrap:anywhere}
.summary tbody th{font-weight:400;color:var(--muted);white-space:nowrap}
.summary tr.differs{background:color-mix(in srgb,#E69F00 16%,Canvas)}
.summary tr.differs th{font-weight:650;color:inherit}
.summary tr.differs th::after{content:" ≠";color:#D55E00}
@media (prefers-color-scheme:dark){.summary tr.differs th::after{color:#E69F00}}
.run-legend{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 10px;font-size:.85rem}
.run-legend span{overflow-wrap:anywhere}
.only-in{margin:0;padding-left:1.2em;font-size:.9rem}.only-in li{overflow-wrap:anywhere}
.run-findings{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:8px 24px}
.run-findings h3{margin-top:8px}`

/** A run's line style as a small inline line: the same dash its lines have in every chart. */
function dashSwatch(dash: readonly number[]): string {
  return `<svg class="dash" width="34" height="10" aria-hidden="true"><line x1="1" y1="5" x2="33" y2="5" stroke="currentColor" stroke-width="2" stroke-dasharray="${dash.join(' ')}"/></svg>`
}

/** Which line style is which run, above the charts that draw runs by dash. */
function runLegend(runs: readonly CompareReportRun[]): string {
  return `<p class="run-legend">${runs.map((r) => `<span>${dashSwatch(r.dash)}<strong>${r.label}</strong>: ${escapeHtml(r.name)}</span>`).join('')}</p>`
}

function summaryTable(report: CompareReportModel): string {
  const head = report.runs.map((r) => `<th scope="col">${dashSwatch(r.dash)}${r.label}</th>`).join('')
  const rows = report.summary.map(
    (row) => `<tr${row.differs ? ' class="differs"' : ''}><th scope="row">${escapeHtml(row.label)}</th>${row.cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`,
  )
  const differing = report.summary.filter((r) => r.differs).map((r) => r.label)
  const text = differing.length
    ? `Highlighted (≠): what the runs were set up differently with (${differing.join(', ')}). The rows under the parameters are what came out, at each run's last sample.`
    : "The runs share their algorithm and every parameter. The rows under the parameters are what came out, at each run's last sample."
  return `<section data-summary><h2>Side by side</h2><p>${escapeHtml(text)}</p><table class="summary"><thead><tr><th scope="col"></th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></section>`
}

function layersSection(report: CompareReportModel): string {
  const shared = `${report.sharedLayers.length.toLocaleString('en-US')} layer${report.sharedLayers.length === 1 ? '' : 's'} in every run, matched by name: the charts compare ${report.sharedLayers.length === 1 ? 'it' : 'these'}.`
  if (!report.onlyIn.length) return `<section data-layers><h2>Layers</h2><p>${escapeHtml(`${shared} No run has a layer the others lack.`)}</p></section>`
  const items = report.onlyIn.map((o) => `<li>Only in <strong>${o.label}</strong> (${o.layers.length.toLocaleString('en-US')}): ${escapeHtml(o.layers.join(', '))}</li>`)
  return `<section data-layers><h2>Layers</h2><p>${escapeHtml(`${shared} Layers only some runs have are not drawn:`)}</p><ul class="only-in">${items.join('')}</ul></section>`
}

function findingsSection(runs: readonly CompareReportRun[]): string {
  const blocks = runs.map((r) => {
    const { critical, warning, info } = r.flagCounts
    const heading = `<h3>${dashSwatch(r.dash)}${r.label}: ${escapeHtml(r.name)} · ${critical} critical, ${warning} warning, ${info} info</h3>`
    return `<div>${heading}${r.flags.length ? `<ul class="flags">${r.flags.map(flagItem).join('')}</ul>` : '<p>No flags.</p>'}</div>`
  })
  return `<section data-findings><h2>Findings</h2><p>Each run's flags, the most severe first; <a href="${FLAGS_DOC}">the flag reference</a> explains every rule.</p><div class="run-findings">${blocks.join('')}</div></section>`
}

const GROUPS: Record<CompareGroup, { title: string; text: string }> = {
  sparsity: {
    title: 'Sparsity',
    text: 'Every run on one axis, then each later run minus A: its value at each of its samples minus A’s latest value at or before the same point.',
  },
  topology: {
    title: 'Topology dynamics',
    text: 'Churn is the share of a layer’s active connections an update rewired (dropped and regrown); a run that settles shows it falling. A difference takes A’s latest update at or before each of the later run’s.',
  },
  layers: {
    title: 'Per shared layer',
    text: 'Each shared layer’s sparsity; its non-zero weights at the first and at the last point every run reached, as each run’s share per bin on the same bins for every run, so the bars compare like with like; and the connections each run’s updates grew (above 0) and dropped (below 0).',
  },
}

function chartSections(report: CompareReportModel): string {
  const legend = runLegend(report.runs)
  return (Object.keys(GROUPS) as CompareGroup[])
    .map((group) => {
      const charts: CompareChart[] = report.charts.filter((c) => c.group === group)
      const note = group === 'topology' ? report.topologyNote : group === 'layers' ? report.layerChartsNote : null
      const text = [GROUPS[group].text, note].filter(Boolean).join(' ')
      if (!charts.length) return note ? chartSection(group, { title: GROUPS[group].title, text: note }, []) : ''
      return chartSection(group, { title: GROUPS[group].title, text }, charts, legend)
    })
    .join('\n')
}

/**
 * Renders a compare report as one HTML document, as renderReportHtml does a run's: the runs and their line
 * styles first, the side-by-side summary, the layers only some runs have, each run's findings, then the
 * charts; Vega, the specs and the data inlined, so it opens from file:// with no network.
 * @example writeFileSync('compare.html', renderCompareReportHtml(buildCompareReport([a, b]), { libraries: loadVegaLibraries() }))
 */
export function renderCompareReportHtml(report: CompareReportModel, { libraries }: RenderCompareReportOptions): string {
  const cards = report.runs.map(
    (r) =>
      `<div><dt>${dashSwatch(r.dash)}Run ${r.label}</dt><dd>${escapeHtml(r.name)}<small>${escapeHtml(r.algorithm)}</small><small>${escapeHtml(`${r.statusText} · ${r.run}`)}</small></dd></div>`,
  )
  const header = [
    `<header><h1>${escapeHtml(report.title)}</h1><p class="byline">SparseLab Profiler comparison of ${report.runs.length} runs · differences are against A</p></header>`,
    `<dl class="headline runs">${cards.join('')}</dl>`,
    `<p class="alignment">${escapeHtml(report.alignmentText)}</p>`,
  ].join('\n')
  const main = [summaryTable(report), layersSection(report), findingsSection(report.runs), chartSections(report)].join('\n')
  return reportDocument({ title: report.title, header, main, charts: report.charts, csv: null, libraries, style: STYLE })
}
