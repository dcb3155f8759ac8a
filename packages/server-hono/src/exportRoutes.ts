import { Hono } from 'hono'
import { validator } from 'hono/validator'
import { DEFAULT_SECTIONS, REPORT_SECTIONS, buildReport, isValidRunId, type ReportSection, type RunSnapshot, type RunStore, type VegaLibraries } from '@sparselab-profiler/core'
import { renderReportHtml, runReportFileName } from '@sparselab-profiler/export'
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

const exportRequest = validator('json', (value: unknown, c) => {
  // Any JSON value may arrive; one that is not an object has none of the fields.
  const body = (typeof value === 'object' && value !== null ? value : {}) as { run?: unknown; title?: unknown; sections?: unknown }
  const run = typeof body.run === 'string' ? body.run : ''
  if (!isValidRunId(run)) return c.json({ error: `field "run" must be a run id, got ${JSON.stringify(body.run)}` }, 400)
  if (body.title !== undefined && typeof body.title !== 'string') return c.json({ error: 'field "title" must be a string' }, 400)
  const sections = body.sections ?? DEFAULT_SECTIONS
  if (!Array.isArray(sections) || sections.some((s) => !REPORT_SECTIONS.includes(s)))
    return c.json({ error: `field "sections" must be a list of ${REPORT_SECTIONS.map((s) => `"${s}"`).join(', ')}` }, 400)
  return { run, title: body.title || undefined, sections: sections as ReportSection[] }
})

/**
 * `POST /` (mounted at `/export`): `{run, title, sections}` as JSON → the run's HTML report as an
 * attachment, from its complete history when `completeRun` has it.
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
      const { run, title, sections } = c.req.valid('json')
      if (!store.has(run)) return c.json({ error: `no run ${run}` }, 404)
      const snapshot = (await options.completeRun?.(run)) ?? store.snapshot(run)!
      const html = renderReportHtml(buildReport(snapshot, { title, sections }), { libraries: options.vegaLibraries ?? loadVegaLibraries() })
      c.header('Content-Disposition', `attachment; filename="${runReportFileName(snapshot)}"`)
      return c.html(html)
    },
  )
}
