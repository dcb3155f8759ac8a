import { useState } from 'preact/hooks'
import { DEFAULT_SECTIONS, reportFileName, type ReportSection } from '@sparselab-profiler/core'
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

/** The export configuration of the wireframe: title, sections, file name, Generate. */
export function ExportDialog({ client, run, runName, step, onClose }: ExportDialogProps) {
  const [title, setTitle] = useState(`${runName} - ${new Date().toISOString().slice(0, 10)}`)
  const [sections, setSections] = useState<ReportSection[]>([...DEFAULT_SECTIONS])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const fileName = reportFileName(step)
  const toggle = (section: ReportSection) =>
    setSections((current) => (current.includes(section) ? current.filter((s) => s !== section) : [...current, section]))

  const generate = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      save(await client.exportReport({ run, title, sections }), fileName)
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
        <label class="slp-field">
          Report title <input value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
        </label>
        <fieldset>
          <legend>Include</legend>
          {(Object.keys(SECTION_LABELS) as ReportSection[]).map((section) => (
            <label key={section}>
              <input type="checkbox" name={section} checked={sections.includes(section)} onChange={() => toggle(section)} /> {SECTION_LABELS[section]}
            </label>
          ))}
        </fieldset>
        <p>
          A single, self-contained HTML file. No external dependencies. It will be saved as <code>{fileName}</code>
        </p>
        {error && <p class="slp-error">Export failed: {error}</p>}
        <div class="slp-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy || sections.length === 0}>
            {busy ? 'Generating…' : 'Generate HTML'}
          </button>
        </div>
      </form>
    </dialog>
  )
}
