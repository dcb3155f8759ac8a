import { useEffect, useRef } from 'preact/hooks'
import { MAX_COMPARED_RUNS, type RunSummary } from '@sparselab-profiler/core'
import { toggleCompared } from './urlState.js'

export interface ComparePickerProps {
  /** Every run the server holds. */
  runs: readonly RunSummary[]
  /** The run on show: it is run A of any comparison and not offered. */
  run: string | undefined
  compare: readonly string[]
  onCompare: (compare: string[]) => void
}

/**
 * "Compare with…": a drop-down of the other runs, each with a checkbox, up to MAX_COMPARED_RUNS − 1 of them (it
 * says so, and disables the rest once full). Closes on Escape and on a click elsewhere.
 */
export function ComparePicker({ runs, run, compare, onCompare }: ComparePickerProps) {
  const root = useRef<HTMLDetailsElement>(null)
  const others = runs.filter((r) => r.run !== run)
  const limit = MAX_COMPARED_RUNS - 1
  const full = compare.length >= limit

  useEffect(() => {
    const close = (event: Event) => {
      const details = root.current
      if (!details?.open) return
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !details.contains(event.target as Node)) details.open = false
    }
    document.addEventListener('pointerdown', close)
    document.addEventListener('keydown', close)
    return () => {
      document.removeEventListener('pointerdown', close)
      document.removeEventListener('keydown', close)
    }
  }, [])

  return (
    <details class="slp-compare-picker" ref={root}>
      <summary>{compare.length ? `Comparing with ${compare.length} ${compare.length === 1 ? 'run' : 'runs'}` : 'Compare with…'}</summary>
      <div class="slp-compare-menu" role="group" aria-label="Runs to compare with">
        <p class="slp-note">
          Up to {limit} other runs, overlaid on this one (A) as B{limit > 1 ? `–${String.fromCharCode(65 + limit)}` : ''}.
        </p>
        {others.length === 0 && <p class="slp-note">No other run on this server yet.</p>}
        <ul>
          {others.map((r) => {
            const checked = compare.includes(r.run)
            return (
              <li key={r.run}>
                <label title={!checked && full ? `At most ${limit} runs are compared with this one` : undefined}>
                  <input type="checkbox" value={r.run} checked={checked} disabled={!checked && full} onChange={() => onCompare(toggleCompared(compare, r.run))} />{' '}
                  {r.name} · {r.run} <span class="slp-note">({r.status})</span>
                </label>
              </li>
            )
          })}
        </ul>
        {compare.length > 0 && (
          <button type="button" onClick={() => onCompare([])}>
            Stop comparing
          </button>
        )}
      </div>
    </details>
  )
}
