import { formatCount } from '@sparselab-profiler/core'
import { useState } from 'preact/hooks'

/** The inspector's head: its title, a filter over the layers' names and the choice of one. */
export function LayerPicker({ title, layers, noun, layer, onLayer }: {
  title: string
  layers: readonly string[]
  /** What the layers are, for the filter's placeholder: 'layers', 'shared layers'. */
  noun: string
  layer: string | undefined
  onLayer: (name: string) => void
}) {
  const [filter, setFilter] = useState('')
  const needle = filter.trim().toLowerCase()
  const choices = needle ? layers.filter((name) => name === layer || name.toLowerCase().includes(needle)) : layers
  return (
    <div class="slp-section-head">
      <h2>{title}</h2>
      <input
        type="search"
        placeholder={`Filter ${formatCount(layers.length)} ${noun}`}
        aria-label="Filter layers"
        value={filter}
        onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
      />
      <select value={layer} aria-label="Layer" onChange={(e) => onLayer((e.target as HTMLSelectElement).value)}>
        {choices.map((name) => (
          <option value={name} key={name}>
            {name}
          </option>
        ))}
      </select>
      {needle && <span class="slp-hint">{formatCount(choices.length)} match</span>}
    </div>
  )
}
