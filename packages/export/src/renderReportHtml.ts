import escapeHtml from 'escape-html'
import {
  FLAGS_DOC,
  HISTOGRAM_SUBTITLE,
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
import { chartSection, flagItem, reportDocument, timestamp } from './reportDocument.js'

export interface RenderReportOptions {
  /** The Vega builds to inline; see loadVegaLibraries(). */
  libraries: VegaLibraries
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
      const note = group === 'layers' && report.layerChartsNote ? ` ${report.layerChartsNote}` : ''
      return chartSection(group, { title: GROUPS[group].title, text: `${GROUPS[group].text}${note}` }, charts)
    })
    .join('\n')
}

function findings(flags: ReportModel['flags']): string {
  if (!flags.length) return '<section data-findings><h2>Findings</h2><p>No flags: none of the rules in <a href="' + FLAGS_DOC + '">the flag reference</a> found anything in this run.</p></section>'
  const items = flags.map(flagItem)
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
  const header = [
    `<header><h1>${escapeHtml(report.title)}</h1><p class="byline">SparseLab Profiler report · ${escapeHtml(report.statusText)}</p></header>`,
    `<dl class="headline">${headline.map(([k, v, note]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}<small>${escapeHtml(note)}</small></dd></div>`).join('')}</dl>`,
    `<dl class="facts">${facts.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`,
  ].join('\n')
  return reportDocument({ title: report.title, header, main: sections, charts: report.charts, csv: report.csv, libraries })
}
