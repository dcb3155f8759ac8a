import { useEffect, useRef, useState } from 'preact/hooks'
import { formatPercent, type EventRow } from '@sparselab-profiler/core'

export interface SparsityHeatmapProps {
  layers: readonly string[]
  /** Sample steps, oldest first; `sparsity[i][j]` is layer j at `steps[i]`. The arrays may grow in place. */
  steps: readonly number[]
  sparsity: readonly (readonly (number | null)[])[]
  /** Steps where the topology changed, ticked above the map. */
  events: readonly EventRow[]
  onLayer?: (layer: string) => void
}

const EVENT_STRIP = 6
const MAX_HEIGHT = 1200
// viridis at 0, .25, .5, .75 and 1, the scheme the report's Vega heatmap uses
const STOPS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
] as const
/** 256 opaque colours as RGBA pixels (little-endian words: alpha in the high byte). */
const PALETTE = Uint32Array.from({ length: 256 }, (_, i) => {
  const at = (i / 255) * (STOPS.length - 1)
  const low = STOPS[Math.floor(at)]!
  const high = STOPS[Math.min(STOPS.length - 1, Math.floor(at) + 1)]!
  const t = at - Math.floor(at)
  const [r, g, b] = low.map((c, k) => Math.round(c + (high[k]! - c) * t)) as [number, number, number]
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0
})

/** Index of the sample nearest to `step`, searching forward from `from`. */
function nearestSample(steps: readonly number[], step: number, from = 0): number {
  let i = from
  while (i + 1 < steps.length && Math.abs(steps[i + 1]! - step) <= Math.abs(steps[i]! - step)) i++
  return i
}

/**
 * Layer × step sparsity on one canvas, for models with too many layers for lines: a live update repaints
 * pixels instead of re-rendering a scene of layers × steps marks, so it stays cheap at 1000 layers.
 * Hover names the layer, step and value; a click inspects the layer. `data-rows` counts the cells drawn.
 */
export function SparsityHeatmap({ layers, steps, sparsity, events, onLayer }: SparsityHeatmapProps) {
  const count = steps.length
  const canvas = useRef<HTMLCanvasElement>(null)
  const [width, setWidth] = useState(0)
  const [hover, setHover] = useState<string | null>(null)
  const rowHeight = Math.max(1, Math.min(12, Math.floor(MAX_HEIGHT / Math.max(1, layers.length))))
  const height = EVENT_STRIP + rowHeight * layers.length
  const first = steps[0] ?? 0
  const last = steps[count - 1] ?? first
  const span = Math.max(1, last - first)

  useEffect(() => {
    const element = canvas.current!
    const observer = new ResizeObserver(() => setWidth(Math.max(1, Math.floor(element.parentElement!.clientWidth))))
    observer.observe(element.parentElement!)
    return () => observer.disconnect()
  }, [])

  useEffect(() => {
    const element = canvas.current
    if (!element || !width) return
    element.width = width
    element.height = height
    const context = element.getContext('2d')!
    const image = context.createImageData(width, height)
    const pixels = new Uint32Array(image.data.buffer)
    // the sample each pixel column shows: the one nearest to that column's step
    const columnSample = new Int32Array(width).fill(-1)
    for (let x = 0, i = 0; x < width && count; x++) columnSample[x] = i = nearestSample(steps, first + (x / Math.max(1, width - 1)) * span, i)
    for (let j = 0; j < layers.length; j++) {
      const top = (EVENT_STRIP + j * rowHeight) * width
      for (let x = 0; x < width; x++) {
        const i = columnSample[x]!
        const value = i < 0 ? null : sparsity[i]![j]
        if (value !== null && value !== undefined) pixels[top + x] = PALETTE[Math.round(Math.min(1, Math.max(0, value)) * 255)]!
      }
      for (let y = 1; y < rowHeight; y++) pixels.copyWithin(top + y * width, top, top + width)
    }
    context.putImageData(image, 0, 0)
    context.fillStyle = '#888'
    for (const e of events) {
      if (e.step < first || e.step > last) continue
      context.fillRect(Math.round(((e.step - first) / span) * (width - 1)), 0, 1, EVENT_STRIP - 1)
    }
    element.setAttribute('data-rows', String(count * layers.length))
  }, [width, height, rowHeight, layers, steps, sparsity, count, events, events.length])

  const at = (event: MouseEvent) => {
    const box = (event.currentTarget as HTMLCanvasElement).getBoundingClientRect()
    const j = Math.floor((event.clientY - box.top - EVENT_STRIP) / rowHeight)
    const i = nearestSample(steps, first + ((event.clientX - box.left) / Math.max(1, box.width - 1)) * span)
    return j >= 0 && j < layers.length && count ? { layer: layers[j]!, step: steps[i]!, value: sparsity[i]![j] } : null
  }

  return (
    <div class="slp-heatmap">
      <canvas
        ref={canvas}
        data-chart="sparsity"
        data-rows="0"
        role="img"
        aria-label={`Per-layer sparsity heatmap: ${layers.length} layers × ${count} samples, steps ${first} to ${last}`}
        style={{ width: '100%', height: `${height}px`, cursor: onLayer ? 'pointer' : 'default' }}
        onMouseMove={(event) => {
          const cell = at(event)
          setHover(cell ? `${cell.layer} · step ${cell.step} · ${cell.value === null || cell.value === undefined ? '–' : formatPercent(cell.value)}` : null)
        }}
        onMouseLeave={() => setHover(null)}
        onClick={(event) => {
          const cell = at(event)
          if (cell) onLayer?.(cell.layer)
        }}
      />
      <div class="slp-heatmap-axis">
        <span>step {first}</span>
        <span class="slp-heatmap-legend" aria-hidden="true" />
        <span>0% → 100% sparse</span>
        <span>step {last}</span>
      </div>
      <output class="slp-heatmap-hover" aria-live="polite">
        {hover ?? `${layers.length} layers, top to bottom: ${layers[0] ?? ''} … ${layers.at(-1) ?? ''}; hover for values, click to inspect`}
      </output>
    </div>
  )
}
