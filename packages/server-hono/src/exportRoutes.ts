import { Hono } from 'hono'
import { validator } from 'hono/validator'
import {
  DEFAULT_SECTIONS,
  MAX_COMPARED_RUNS,
  REPORT_SECTIONS,
  buildReport,
  compareReportFileName,
  isValidRunId,
  type ReportSection,
  type RunSnapshot,
  type RunStore,
  type StepAlignment,
  type VegaLibraries,
} from '@sparselab-profiler/core'
import { exportCompareLog, renderReportHtml, runReportFileName } from '@sparselab-profiler/export'
import { loadVegaLibraries } from '@sparselab-profiler/runlog'
import { requireContentType } from './requireContentType.js'
import { requireJsonBody } from './requireJsonBody.js'

export interface ExportRoutesOptions {
  store: RunStore
  /** A run's complete history for exports (the store keeps a bounded window). @default the store's snapshot */
  completeRun?: (run: string) => RunSnapshot | undefined | Promise<RunSnapshot | undefined>
  /**
   * The Vega builds a report inlines; a one-file build passes the copies it carries.
   * @default runlog's `loadVegaLibraries()`: read from the installed packages at the first export
   */
  vegaLibraries?: VegaLibraries
}

const ALIGNMENTS: readonly StepAlignment[] = ['step', 'fraction']

const exportRequest = validator('json', (value: unknown, c) => {
  // Any JSON value may arrive; one that is not an object has none of the fields.
  const body = (typeof value === 'object' && value !== null ? value : {}) as { run?: unknown; title?: unknown; sections?: unknown; compare?: unknown; align?: unknown }
  const run = typeof body.run === 'string' ? body.run : ''
  if (!isValidRunId(run)) return c.json({ error: `field "run" must be a run id, got ${JSON.stringify(body.run)}` }, 400)
  if (body.title !== undefined && typeof body.title !== 'string') return c.json({ error: 'field "title" must be a string' }, 400)
  const sections = body.sections ?? DEFAULT_SECTIONS
  if (!Array.isArray(sections) || sections.some((s) => !REPORT_SECTIONS.includes(s)))
    return c.json({ error: `field "sections" must be a list of ${REPORT_SECTIONS.map((s) => `"${s}"`).join(', ')}` }, 400)
  const compare = body.compare ?? []
  if (!Array.isArray(compare) || compare.length > MAX_COMPARED_RUNS - 1 || compare.some((id) => typeof id !== 'string' || !isValidRunId(id)))
    return c.json({ error: `field "compare" must be a list of up to ${MAX_COMPARED_RUNS - 1} run ids, got ${JSON.stringify(body.compare)}` }, 400)
  const runs = [run, ...(compare as string[])]
  const twice = runs.find((id, i) => runs.indexOf(id) !== i)
  if (twice !== undefined) return c.json({ error: `a comparison takes different runs, got ${twice} twice` }, 400)
  const align = body.align ?? 'step'
  if (!ALIGNMENTS.includes(align as StepAlignment)) return c.json({ error: `field "align" must be "step" or "fraction", got ${JSON.stringify(body.align)}` }, 400)
  return { runs, title: body.title || undefined, sections: sections as ReportSection[], alignment: align as StepAlignment }
})

/**
 * `POST /` (mounted at `/export`): `{run, title, sections}` as JSON → the run's HTML report as an
 * attachment, from its complete history when `completeRun` has it. With `compare: [B, …]` (up to
 * MAX_COMPARED_RUNS runs in all) and `align` ("step", the default, or "fraction"), the compare report of
 * `run` (A, the baseline of every difference) and those runs instead; `sections` shape only a run's report.
 * @example app.route('/export', exportRoutes({ store }))
 */
export function exportRoutes(options: ExportRoutesOptions) {
  const { store } = options
  return new Hono().post(
    '/',
    requireContentType('application/json'),
    requireJsonBody('body must be JSON: {"run": "<run id>", "title": "..."}'),
    exportRequest,
    async (c) => {
      const { runs, title, sections, alignment } = c.req.valid('json')
      const missing = runs.find((run) => !store.has(run))
      if (missing !== undefined) return c.json({ error: `no run ${missing}` }, 404)
      const snapshots = await Promise.all(runs.map(async (run) => (await options.completeRun?.(run)) ?? store.snapshot(run)!))
      const libraries = options.vegaLibraries ?? loadVegaLibraries()
      if (snapshots.length > 1) {
        c.header('Content-Disposition', `attachment; filename="${compareReportFileName()}"`)
        return c.html(exportCompareLog(snapshots, { libraries, title, alignment }))
      }
      const [snapshot] = snapshots as [RunSnapshot]
      const html = renderReportHtml(buildReport(snapshot, { title, sections }), { libraries })
      c.header('Content-Disposition', `attachment; filename="${runReportFileName(snapshot)}"`)
      return c.html(html)
    },
  )
}
