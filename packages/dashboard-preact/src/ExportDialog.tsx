import { useState } from 'preact/hooks'
import { DEFAULT_SECTIONS, compareReportFileName, reportFileName, type ReportSection, type StepAlignment } from '@sparselab-profiler/core'
import type { RunsClient } from './runsClient.js'

const SECTION_LABELS: Record<ReportSection, string> = {
  sparsity: 'Per-layer sparsity plots',
  weights: 'Weight distribution',
  memory: 'Memory savings summary',
  events: 'Event timeline',
  csv: 'Raw metric data (CSV)',
  latency: 'Profiler latency stats',
}

export interface ExportDialogProps {
  client: RunsClient
  run: string
  runName: string
  step: number
  /** The runs compared with `run` (the compare view): the dialog offers their compare report, chosen first. @default [] */
  compare?: readonly { run: string; name: string }[]
  /** How the compare report lines the runs up, as the compare view does. @default 'step' */
  align?: StepAlignment
  onClose: () => void
}

/** Saves `file` under `name` through a download link. */
function save(file: Blob, name: string): void {
  const link = document.createElement('a')
  link.href = URL.createObjectURL(file)
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
}

/**
 * The export configuration of the wireframe: title, sections, file name, Generate. While runs are compared it
 * offers the compare report of all of them (the default) beside the report of the first run alone.
 */
export function ExportDialog({ client, run, runName, step, compare = [], align = 'step', onClose }: ExportDialogProps) {
  const date = new Date().toISOString().slice(0, 10)
  const comparing = compare.length > 0
  const [kind, setKind] = useState<'compare' | 'run'>(comparing ? 'compare' : 'run')
  const defaultTitle = (k: 'compare' | 'run') => (k === 'compare' ? `${[runName, ...compare.map((c) => c.name)].join(' vs ')} - ${date}` : `${runName} - ${date}`)
  const [title, setTitle] = useState(defaultTitle(kind))
  const [sections, setSections] = useState<ReportSection[]>([...DEFAULT_SECTIONS])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const fileName = kind === 'compare' ? compareReportFileName() : reportFileName(step)
  const choose = (next: 'compare' | 'run') => {
    // a title still as proposed follows the choice; one the user typed stays
    if (title === defaultTitle(kind)) setTitle(defaultTitle(next))
    setKind(next)
  }
  const toggle = (section: ReportSection) =>
    setSections((current) => (current.includes(section) ? current.filter((s) => s !== section) : [...current, section]))

  const generate = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const file =
        kind === 'compare'
          ? await client.exportCompareReport({ run, compare: compare.map((c) => c.run), align, title })
          : await client.exportReport({ run, title, sections })
      save(file, fileName)
      onClose()
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }

  return (
    <dialog open class="slp-dialog" aria-label="Export configuration" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <form onSubmit={generate}>
        <h2>Export configuration</h2>
        {comparing && (
          <fieldset class="slp-export-kind">
            <legend>Report of</legend>
            <label>
              <input type="radio" name="report" value="compare" checked={kind === 'compare'} onChange={() => choose('compare')} /> the comparison:{' '}
              {[runName, ...compare.map((c) => c.name)].join(' vs ')}
            </label>
            <label>
              <input type="radio" name="report" value="run" checked={kind === 'run'} onChange={() => choose('run')} /> {runName} alone
            </label>
          </fieldset>
        )}
        <label class="slp-field">
          Report title <input value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
        </label>
        {kind === 'run' && (
          <fieldset>
            <legend>Include</legend>
            {(Object.keys(SECTION_LABELS) as ReportSection[]).map((section) => (
              <label key={section}>
                <input type="checkbox" name={section} checked={sections.includes(section)} onChange={() => toggle(section)} /> {SECTION_LABELS[section]}
              </label>
            ))}
          </fieldset>
        )}
        <p>
          A single, self-contained HTML file. No external dependencies. It will be saved as <code>{fileName}</code>
        </p>
        {error && <p class="slp-error">Export failed: {error}</p>}
        <div class="slp-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy || (kind === 'run' && sections.length === 0)}>
            {busy ? 'Generating…' : 'Generate HTML'}
          </button>
        </div>
      </form>
    </dialog>
  )
}
