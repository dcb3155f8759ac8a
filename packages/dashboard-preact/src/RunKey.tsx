import { RUN_DASHES, runLabel } from '@sparselab-profiler/core'

/** A dash pattern as an SVG stroke-dasharray. */
const dasharray = (index: number) => (RUN_DASHES[index] ?? [1, 0]).join(' ')

/** The run's letter and its dash style, as the charts' legends draw it. */
export function RunKey({ index }: { index: number }) {
  return (
    <span class="slp-run-key" data-run-key={runLabel(index)}>
      <b>{runLabel(index)}</b>
      <svg width="30" height="10" aria-hidden="true">
        <line x1="1" y1="5" x2="29" y2="5" stroke="currentColor" stroke-width="2" stroke-dasharray={dasharray(index)} />
      </svg>
    </span>
  )
}
