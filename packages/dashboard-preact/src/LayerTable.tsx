import { useEffect, useRef, useState } from 'preact/hooks'
import { formatCount, formatLayerName, formatPercent, memoryVsDense, type LayerInfo, type SampleRecord } from '@sparselab-profiler/core'

export interface LayerTableProps {
  sample: SampleRecord | undefined
  /** Each layer's current description (layer records change it mid-run), for its format, mask source and dtype. */
  infoOf: (layer: string) => LayerInfo | undefined
  layer: string
  onLayer: (layer: string) => void
}

const ROW_HEIGHT = 24
const VISIBLE_ROWS = 13
const OVERSCAN = 6

/**
 * Every layer's latest numbers as text (the chart's colours are not the only way to read them); the
 * arrow keys move the inspected layer up and down the list. Only the rows in view are rendered, so a
 * 1000-layer model costs a screenful of rows per update.
 */
export function LayerTable({ sample, infoOf, layer, onLayer }: LayerTableProps) {
  const scroller = useRef<HTMLDivElement>(null)
  const [scrollTop, setScrollTop] = useState(0)
  /** The row a keyboard move should focus once rendered (the newest move wins over older renders). */
  const focusTarget = useRef<string | null>(null)
  const layers = sample?.layers ?? []
  const selected = layers.findIndex((l) => l.name === layer)
  // Where the keyboard has moved to, ahead of the render that shows it: keys pressed faster than the
  // page renders (a held arrow key) each count.
  const cursor = useRef(selected)
  cursor.current = selected

  useEffect(() => {
    // keep the inspected layer in view
    const element = scroller.current
    if (!element || selected < 0) return
    const top = selected * ROW_HEIGHT
    if (top < element.scrollTop) element.scrollTop = top
    else if (top + ROW_HEIGHT > element.scrollTop + element.clientHeight - ROW_HEIGHT) element.scrollTop = top - element.clientHeight + 2 * ROW_HEIGHT
    setScrollTop(element.scrollTop) // render that window now, not when the scroll event comes
  }, [layer, selected])

  useEffect(() => {
    // after a keyboard move, focus the row as soon as a render has it
    if (focusTarget.current === null) return
    const row = scroller.current?.querySelector<HTMLElement>(`[data-layer-row="${CSS.escape(focusTarget.current)}"]`)
    if (!row) return
    focusTarget.current = null
    row.focus()
  })

  if (!sample) return null
  // the rows in view, and always the inspected one: it can be focused in the render that selects it
  const from = Math.max(0, Math.min(selected, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN))
  const to = Math.min(layers.length, Math.max(selected + 1, Math.floor(scrollTop / ROW_HEIGHT) + VISIBLE_ROWS + OVERSCAN))
  const move = (event: KeyboardEvent) => {
    const step = event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0
    if (!step) return
    event.preventDefault()
    cursor.current = Math.min(layers.length - 1, Math.max(0, cursor.current + step))
    focusTarget.current = layers[cursor.current]!.name
    onLayer(focusTarget.current)
  }
  return (
    <div
      ref={scroller}
      class="slp-table-scroll"
      style={{ maxHeight: `${ROW_HEIGHT * (VISIBLE_ROWS + 1)}px` }}
      onScroll={(event) => setScrollTop((event.currentTarget as HTMLElement).scrollTop)}
    >
      <table class="slp-table" onKeyDown={move} aria-label={`Layers at step ${sample.step}`} aria-rowcount={layers.length + 1}>
        <thead>
          <tr>
            <th>Layer</th>
            <th>Sparsity</th>
            <th>NNZ</th>
            <th>Memory against dense</th>
            <th>Format</th>
            <th>Mask source</th>
            <th>Dtype</th>
          </tr>
        </thead>
        <tbody>
          {from > 0 && <tr aria-hidden="true" style={{ height: `${from * ROW_HEIGHT}px` }} />}
          {layers.slice(from, to).map((l, offset) => {
            const info = infoOf(l.name)
            return (
              <tr
                key={l.name}
                data-layer-row={l.name}
                aria-rowindex={from + offset + 2}
                tabIndex={l.name === layer ? 0 : -1}
                aria-selected={l.name === layer}
                onClick={() => onLayer(l.name)}
              >
                <td>{formatLayerName(l.name, info?.aliases)}</td>
                <td>{formatPercent(l.sparsity)}</td>
                <td>
                  {formatCount(l.nnz)} / {formatCount(l.numel)}
                </td>
                <td>{memoryVsDense(l.bytes, l.dense_bytes)}</td>
                <td>{info?.format ?? '–'}</td>
                <td>{info?.mask_source ?? '–'}</td>
                <td>{info?.dtype ?? '–'}</td>
              </tr>
            )
          })}
          {to < layers.length && <tr aria-hidden="true" style={{ height: `${(layers.length - to) * ROW_HEIGHT}px` }} />}
        </tbody>
      </table>
    </div>
  )
}
