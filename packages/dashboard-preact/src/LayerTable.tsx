import { formatBytes, formatPercent, type SampleRecord } from '@sparselab-profiler/core'

export interface LayerTableProps {
  sample: SampleRecord | undefined
  layer: string
  onLayer: (layer: string) => void
}

/**
 * Every layer's latest numbers as text (the chart's colours are not the only way to read them); the
 * arrow keys move the inspected layer up and down the list.
 */
export function LayerTable({ sample, layer, onLayer }: LayerTableProps) {
  if (!sample) return null
  const names = sample.layers.map((l) => l.name)
  const move = (event: KeyboardEvent) => {
    const step = event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0
    if (!step) return
    event.preventDefault()
    const next = names[Math.min(names.length - 1, Math.max(0, names.indexOf(layer) + step))]!
    onLayer(next)
    ;(event.currentTarget as HTMLElement).querySelector<HTMLElement>(`[data-layer-row="${CSS.escape(next)}"]`)?.focus()
  }
  return (
    <table class="slp-table" onKeyDown={move} aria-label={`Layers at step ${sample.step}`}>
      <thead>
        <tr>
          <th>Layer</th>
          <th>Sparsity</th>
          <th>NNZ</th>
          <th>Memory vs dense</th>
        </tr>
      </thead>
      <tbody>
        {sample.layers.map((l) => (
          <tr
            key={l.name}
            data-layer-row={l.name}
            tabIndex={l.name === layer ? 0 : -1}
            aria-selected={l.name === layer}
            onClick={() => onLayer(l.name)}
          >
            <td>{l.name}</td>
            <td>{formatPercent(l.sparsity)}</td>
            <td>
              {l.nnz.toLocaleString('en-US')} / {l.numel.toLocaleString('en-US')}
            </td>
            <td>{formatBytes(l.bytes - l.dense_bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
