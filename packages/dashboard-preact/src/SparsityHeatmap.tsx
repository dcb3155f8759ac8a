import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { formatCount, formatPercent, type EventRow } from '@sparselab-profiler/core'

export interface SparsityHeatmapProps {
  layers: readonly string[]
  /** Sample steps (or, with `axis: 'fraction'`, fractions of training), oldest first; `sparsity[i][j]` is layer j at `steps[i]`. The arrays may grow in place. */
  steps: readonly number[]
  sparsity: readonly (readonly (number | null)[])[]
  /** Steps where the topology changed, ticked above the map. @default [] (the strip stays empty and unlabelled) */
  events?: readonly EventRow[]
  onLayer?: (layer: string) => void
  /** The inspected layer: its row is framed and its name marked in the gutter. */
  layer?: string
  /** The map's `data-chart` and download name. @default 'sparsity' */
  name?: string
  /** A signed difference on a diverging scale from −extent to +extent, centred on 0. @default sparsity, 0–100% on viridis */
  diverging?: DivergingScale
  /** What the x values are: training steps, or fractions of training. @default 'step' */
  axis?: 'step' | 'fraction'
  /** The x range drawn (a zoom). @default the steps' first to last */
  domain?: readonly [number, number]
}

/** A diverging colour scale for differences: its title, its extent, and what each side means. */
export interface DivergingScale {
  title: string
  /** The largest |value| the colours tell apart; larger ones take the end colours. */
  extent: number
  /** What a negative and a positive value mean, e.g. `B denser` and `B sparser`. */
  below: string
  above: string
}

/** Rows start this far below the top of the map canvas (its top band is the lower part of the event strip). */
const EVENT_STRIP = 6
/** The event strip reaches this far above the map canvas, on the overlay. */
const STRIP_ABOVE = 12
const STRIP = STRIP_ABOVE + EVENT_STRIP
/** Below the map: tick marks and step labels. */
const AXIS = 22
const MAX_HEIGHT = 1200
const MAX_GUTTER = 180
const MIN_GUTTER = 56
/** Room right of a layer name: its row tick and a gap before the map. */
const GUTTER_PAD = 10
const LABEL_FONT = 11
const SMALL_FONT = 10
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

/** 256 opaque colours from `stops` (RGB), as PALETTE. */
function palette(stops: readonly (readonly [number, number, number])[]): Uint32Array {
  return Uint32Array.from({ length: 256 }, (_, i) => {
    const at = (i / 255) * (stops.length - 1)
    const low = stops[Math.floor(at)]!
    const high = stops[Math.min(stops.length - 1, Math.floor(at) + 1)]!
    const t = at - Math.floor(at)
    const [r, g, b] = low.map((c, k) => Math.round(c + (high[k]! - c) * t)) as [number, number, number]
    return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0
  })
}
// Blue below zero, orange above (Vega's blueorange, as the report's difference heatmap), meeting at a near-background
// grey: pale on a light page, dark on a dark one, so "no difference" never glares.
const BLUE = [[24, 78, 140], [64, 130, 190], [137, 183, 220]] as const
const ORANGE = [[246, 182, 120], [220, 120, 40], [150, 70, 10]] as const
const DIVERGING = {
  light: palette([...BLUE, [242, 240, 235], ...ORANGE]),
  dark: palette([...BLUE, [52, 52, 56], ...ORANGE]),
}
const DIVERGING_CSS = {
  light: 'linear-gradient(90deg,#184e8c,#4082be,#89b7dc,#f2f0eb,#f6b678,#dc7828,#96460a)',
  dark: 'linear-gradient(90deg,#184e8c,#4082be,#89b7dc,#343438,#f6b678,#dc7828,#96460a)',
}

/** A signed share as percentage points with its sign: `+2.5%`, `−0.3%`, `0%`. */
export function formatSigned(value: number): string {
  const text = `${Number(Math.abs(value * 100).toPrecision(3))}%`
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : '0%'
}

const isDark = () => typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches

/** Index of the sample nearest to `step`, searching forward from `from`. */
function nearestSample(steps: readonly number[], step: number, from = 0): number {
  let i = from
  while (i + 1 < steps.length && Math.abs(steps[i + 1]! - step) <= Math.abs(steps[i]! - step)) i++
  return i
}

/** Splits a layer path into its segments and the separators between them: `a.b/c` → `['a', '.', 'b', '/', 'c']`. */
const splitPath = (name: string) => name.split(/([./])/)

/** How many leading path segments every name shares (never a name's last segment). */
export function commonSegments(names: readonly string[]): number {
  if (!names.length) return 0
  const first = splitPath(names[0]!)
  let shared = (first.length - 1) / 2
  for (const name of names) {
    const tokens = splitPath(name)
    let k = 0
    while (k < shared && 2 * k + 1 < tokens.length - 1 && tokens[2 * k] === first[2 * k] && tokens[2 * k + 1] === first[2 * k + 1]) k++
    shared = k
    if (!shared) break
  }
  return shared
}

/**
 * A layer name that fits `maxWidth` (as `measure` reports widths): whole when it fits, else the segments of
 * its dotted (or slashed) path that say most, each dropped run shown as `…`. The last segment always stays;
 * then the first numeric segment (the block index) and the name before it, the segment before the last,
 * the head (left to right, except its first `shared` segments: the prefix every layer has, which tells
 * rows apart no more), then the rest of the tail: `encoder.layers.1.block.0.mlp.fc2` →
 * `encoder.layers.1…mlp.fc2`. When not even `…` and the last segment fit, characters go from the middle.
 */
export function shortenLayerName(name: string, maxWidth: number, measure: (text: string) => number, shared = 0): string {
  if (measure(name) <= maxWidth) return name
  const tokens = splitPath(name)
  const n = (tokens.length + 1) / 2
  const render = (kept: readonly boolean[]) => {
    let text = ''
    for (let i = 0; i < n; i++) {
      if (kept[i]) text += (i > 0 && kept[i - 1] ? tokens[2 * i - 1]! : '') + tokens[2 * i]!
      else if (i === 0 || kept[i - 1]) text += '…'
    }
    return text
  }
  const kept = Array.from({ length: n }, (_, i) => i === n - 1)
  if (n < 2 || measure(render(kept)) > maxWidth) return truncateMiddle(name, maxWidth, measure)
  let index = -1
  for (let i = 0; i < n - 1 && index < 0; i++) if (/^\d+$/.test(tokens[2 * i]!)) index = i
  const order = [
    ...(index >= 0 ? [index, index - 1] : []),
    n - 2, // what the leaf belongs to: mlp in mlp.fc2
    ...Array.from({ length: Math.max(0, (index < 0 ? n - 2 : index - 1) - shared) }, (_, i) => shared + i), // the head
    ...Array.from({ length: Math.max(0, n - 3 - Math.max(index, shared - 1)) }, (_, i) => n - 3 - i), // the rest of the tail, inwards
  ]
  for (const i of order) {
    if (i < 0 || kept[i]) continue
    kept[i] = true
    if (measure(render(kept)) > maxWidth) kept[i] = false
  }
  return render(kept)
}

/** The start and (more of) the end of `text` around `…`, as much as fits. */
function truncateMiddle(text: string, maxWidth: number, measure: (text: string) => number): string {
  const cut = (keep: number) => {
    const head = Math.floor(keep / 3)
    return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`
  }
  let low = 0
  let high = text.length - 1
  if (measure(cut(0)) > maxWidth) return ''
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (measure(cut(mid)) <= maxWidth) low = mid
    else high = mid - 1
  }
  return cut(low)
}

/** Up to `maxCount` round steps (1, 2, 2.5 or 5 × 10ⁿ apart, whole numbers) in [first, last], as many as allowed. */
export function stepTicks(first: number, last: number, maxCount = 6): number[] {
  if (!(last > first)) return Number.isFinite(first) ? [first] : []
  const limit = Math.max(2, Math.floor(maxCount))
  for (let power = 1; ; power *= 10) {
    for (const m of power >= 10 ? [1, 2, 2.5, 5] : [1, 2, 5]) {
      const every = m * power
      const start = Math.ceil(first / every)
      const end = Math.floor(last / every)
      if (end - start + 1 <= limit) return Array.from({ length: end - start + 1 }, (_, i) => (start + i) * every)
    }
  }
}

/** Shared 2D context for measuring text before anything is drawn. */
let measurer: CanvasRenderingContext2D | null | undefined
function measureContext(font: string): CanvasRenderingContext2D | null {
  if (measurer === undefined) measurer = typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d')
  if (measurer) measurer.font = font
  return measurer
}

/**
 * Layer × step sparsity on one canvas, for models with too many layers for lines: a live update repaints
 * pixels instead of re-rendering a scene of layers × steps marks, so it stays cheap at 1000 layers.
 * Layer names (every k-th row when rows are thin), step ticks, topology updates and the inspected layer's
 * frame are drawn on a second canvas over it, in the page's ink colour. Hover names the layer, step and
 * value; a click inspects the layer. `data-rows` counts the cells drawn.
 */
export function SparsityHeatmap({ layers, steps, sparsity, events = [], onLayer, layer, name = 'sparsity', diverging, axis = 'step', domain }: SparsityHeatmapProps) {
  const count = steps.length
  const fraction = axis === 'fraction'
  const formatX = (x: number) => (fraction ? `${Number((x * 100).toFixed(1))}%` : formatCount(x))
  const formatValue = (value: number) => (diverging ? formatSigned(value) : formatPercent(value))
  const root = useRef<HTMLDivElement>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  const overlay = useRef<HTMLCanvasElement>(null)
  const [width, setWidth] = useState(0)
  const [fontFamily, setFontFamily] = useState('system-ui, sans-serif')
  const [scheme, setScheme] = useState(0)
  const [hover, setHover] = useState<string | null>(null)
  const rowHeight = Math.max(1, Math.min(12, Math.floor(MAX_HEIGHT / Math.max(1, layers.length))))
  const mapHeight = EVENT_STRIP + rowHeight * layers.length
  const total = STRIP_ABOVE + mapHeight + AXIS
  const first = domain?.[0] ?? steps[0] ?? 0
  const last = domain?.[1] ?? steps[count - 1] ?? first
  const span = Math.max(fraction ? 1e-9 : 1, last - first)
  // Rows 10 px and taller get a name each, in a font that fits them; thinner ones every k-th row.
  const fontSize = rowHeight >= 10 ? Math.min(LABEL_FONT, rowHeight - 1) : LABEL_FONT
  const every = rowHeight >= 10 ? 1 : Math.ceil((LABEL_FONT + 1) / rowHeight)
  const font = `${fontSize}px ${fontFamily}`

  const longest = useMemo(() => {
    // in bold, so that the inspected layer's name fits as well
    const context = measureContext(`bold ${font}`)
    let widest = 0
    if (context) for (const name of layers) widest = Math.max(widest, context.measureText(name).width)
    return widest
  }, [layers, layers.length, font])
  const gutter = Math.min(Math.max(MIN_GUTTER, Math.ceil(longest) + GUTTER_PAD + 2), MAX_GUTTER, Math.max(MIN_GUTTER, Math.floor(width * 0.25)))
  const mapWidth = Math.max(1, width - gutter)
  const shared = useMemo(() => commonSegments(layers), [layers, layers.length])
  const labels = useMemo(() => {
    const context = measureContext(font)
    const measure = (text: string) => context?.measureText(text).width ?? text.length * fontSize * 0.6
    const shown: { row: number; text: string }[] = []
    for (let j = 0; j < layers.length; j += every) shown.push({ row: j, text: shortenLayerName(layers[j]!, gutter - GUTTER_PAD, measure, shared) })
    return shown
  }, [layers, layers.length, font, fontSize, every, gutter, shared])

  useEffect(() => {
    const element = root.current!
    setFontFamily(getComputedStyle(element).fontFamily || 'system-ui, sans-serif')
    const observer = new ResizeObserver(() => setWidth(Math.max(1, Math.floor(element.clientWidth))))
    observer.observe(element)
    // The page's ink follows the colour scheme; the overlay has to be redrawn in it.
    const dark = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null
    const repaint = () => setScheme((n) => n + 1)
    dark?.addEventListener('change', repaint)
    return () => {
      observer.disconnect()
      dark?.removeEventListener('change', repaint)
    }
  }, [])

  // The cells: one pixel per CSS pixel, the canvas scaled crisply by the browser on dense screens.
  useEffect(() => {
    const element = canvas.current
    if (!element || !width) return
    if (element.width !== mapWidth) element.width = mapWidth
    if (element.height !== mapHeight) element.height = mapHeight
    const context = element.getContext('2d')!
    const image = context.createImageData(mapWidth, mapHeight)
    const pixels = new Uint32Array(image.data.buffer)
    // the sample each pixel column shows: the one nearest to that column's step; none outside the samples (a zoom past them)
    const columnSample = new Int32Array(mapWidth).fill(-1)
    const within = (x: number) => x >= (steps[0] ?? 0) - span / mapWidth && x <= (steps[count - 1] ?? 0) + span / mapWidth
    for (let x = 0, i = 0; x < mapWidth && count; x++) {
      const at = first + (x / Math.max(1, mapWidth - 1)) * span
      i = nearestSample(steps, at, i)
      columnSample[x] = within(at) ? i : -1
    }
    const colours = diverging ? DIVERGING[isDark() ? 'dark' : 'light'] : PALETTE
    const colour = diverging
      ? (value: number) => colours[Math.round(Math.min(1, Math.max(0, (value / Math.max(1e-12, diverging.extent) + 1) / 2)) * 255)]!
      : (value: number) => colours[Math.round(Math.min(1, Math.max(0, value)) * 255)]!
    for (let j = 0; j < layers.length; j++) {
      const top = (EVENT_STRIP + j * rowHeight) * mapWidth
      for (let x = 0; x < mapWidth; x++) {
        const i = columnSample[x]!
        const value = i < 0 ? null : sparsity[i]![j]
        if (value !== null && value !== undefined) pixels[top + x] = colour(value)
      }
      for (let y = 1; y < rowHeight; y++) pixels.copyWithin(top + y * mapWidth, top, top + mapWidth)
    }
    context.putImageData(image, 0, 0)
    element.setAttribute('data-rows', String(count * layers.length))
  }, [width, mapWidth, mapHeight, rowHeight, layers, steps, sparsity, count, first, span, diverging?.extent, scheme])

  /** x of a step's pixel column on the overlay, by the mapping the cells use. */
  const columnOf = (step: number) => Math.round(((step - first) / span) * (mapWidth - 1))

  // Names, ticks, updates and the inspected row, in the page's ink and at the screen's pixel density.
  useEffect(() => {
    const element = overlay.current
    if (!element || !width) return
    const ratio = Math.max(1, Math.min(3, window.devicePixelRatio || 1))
    // resizing reallocates the canvas: only when the size changed (a live sample keeps it)
    if (element.width !== Math.round(width * ratio)) element.width = Math.round(width * ratio)
    if (element.height !== Math.round(total * ratio)) element.height = Math.round(total * ratio)
    const context = element.getContext('2d')!
    context.setTransform(ratio, 0, 0, ratio, 0, 0)
    context.clearRect(0, 0, width, total)
    const ink = getComputedStyle(element).color || 'CanvasText'
    context.fillStyle = ink
    context.strokeStyle = ink
    const mapTop = STRIP
    const mapBottom = STRIP + rowHeight * layers.length
    const rowCentre = (j: number) => mapTop + j * rowHeight + rowHeight / 2
    const labelRight = gutter - GUTTER_PAD + 2
    const clampLabel = (y: number) => Math.min(mapBottom + 3 - fontSize / 2, Math.max(mapTop - 5 + fontSize / 2, y))

    // Axis titles in the gutter.
    context.font = `${SMALL_FONT}px ${fontFamily}`
    context.textAlign = 'right'
    context.textBaseline = 'middle'
    context.globalAlpha = 0.75
    if (events.length) context.fillText('updates', labelRight, STRIP / 2 - 1)
    context.textBaseline = 'top'
    context.fillText(fraction ? 'fraction' : 'step', labelRight, mapBottom + 7)

    // Topology updates: a tick per pixel column that has one, full strip height.
    context.globalAlpha = 0.25
    context.fillRect(gutter, mapTop - 1, mapWidth, 1)
    context.globalAlpha = 1
    const marked = new Uint8Array(mapWidth)
    for (const e of events) {
      if (e.step < first || e.step > last) continue
      marked[Math.min(mapWidth - 1, Math.max(0, columnOf(e.step)))] = 1
    }
    const markedCount = marked.reduce((a, b) => a + b, 0)
    const tickWidth = markedCount * 4 < mapWidth ? 2 : 1
    for (let x = 0; x < mapWidth; x++) if (marked[x]) context.fillRect(gutter + Math.min(x, mapWidth - tickWidth), 2, tickWidth, mapTop - 2)

    // Step ticks under the map, as many as fit their labels.
    context.font = `${LABEL_FONT}px ${fontFamily}`
    context.textBaseline = 'top'
    context.textAlign = 'left'
    const widest = context.measureText(formatX(last)).width
    const tickCount = Math.min(6, Math.floor(mapWidth / (widest + 24)) + 1)
    // fractions tick at round percentages
    const ticks = fraction ? stepTicks(first * 1000, last * 1000, tickCount).map((t) => t / 1000) : stepTicks(first, last, tickCount)
    let end = -Infinity
    if (count)
      for (const step of ticks) {
        const x = gutter + columnOf(step)
        context.globalAlpha = 1
        context.fillRect(Math.min(x, width - 1), mapBottom, 1, 4)
        const text = formatX(step)
        const w = context.measureText(text).width
        const left = Math.min(width - w, Math.max(gutter - 4, x + 0.5 - w / 2))
        if (left < end + 8) continue
        context.globalAlpha = 0.85
        context.fillText(text, left, mapBottom + 6)
        end = left + w
      }

    // The inspected layer: a double frame (dark and light) round its row, its name in bold beside it.
    const inspected = layer === undefined ? -1 : layers.indexOf(layer)
    let band: [number, number] | null = null
    if (inspected >= 0) {
      const top = mapTop + inspected * rowHeight
      context.globalAlpha = 1
      context.lineWidth = 1
      context.strokeStyle = '#fff'
      context.strokeRect(gutter - 0.5, top - 0.5, mapWidth, rowHeight + 1)
      context.strokeStyle = '#000'
      context.strokeRect(gutter - 1.5, top - 1.5, mapWidth + 2, rowHeight + 3)
      context.font = `bold ${fontSize}px ${fontFamily}`
      const y = clampLabel(rowCentre(inspected))
      const text = shortenLayerName(layers[inspected]!, labelRight - 1, (t) => context.measureText(t).width, shared)
      context.fillStyle = ink
      context.textAlign = 'right'
      context.textBaseline = 'middle'
      context.fillText(text, labelRight, y)
      // a marker pointing at the row
      const c = rowCentre(inspected)
      context.beginPath()
      context.moveTo(gutter - 2, c)
      context.lineTo(gutter - 7, c - 4)
      context.lineTo(gutter - 7, c + 4)
      context.closePath()
      context.fill()
      band = [y - fontSize / 2 - 1, y + fontSize / 2 + 1]
    }

    // Layer names, right-aligned against the map; thin rows get a tick to the row each name belongs to.
    context.font = `${fontSize}px ${fontFamily}`
    context.textAlign = 'right'
    context.textBaseline = 'middle'
    context.fillStyle = ink
    let below = -Infinity
    for (const { row, text } of labels) {
      const y = clampLabel(rowCentre(row))
      if (y - fontSize / 2 < below || (band && y + fontSize / 2 > band[0] && y - fontSize / 2 < band[1])) continue
      below = y + fontSize / 2
      context.globalAlpha = 0.85
      context.fillText(text, labelRight, y)
      if (every > 1) {
        context.globalAlpha = 0.6
        context.fillRect(gutter - 5, Math.floor(rowCentre(row)), 4, 1)
      }
    }
    context.globalAlpha = 1
  }, [width, total, gutter, mapWidth, rowHeight, labels, layer, layers, events, events.length, first, last, count, span, fontFamily, fontSize, every, scheme, shared])

  /** What the pointer is over: a cell, a layer name in the gutter, or an update in the strip. */
  const at = (event: MouseEvent) => {
    const element = canvas.current
    if (!element || !count) return null
    const box = element.getBoundingClientRect()
    const x = event.clientX - box.left
    const y = event.clientY - box.top
    if (x >= box.width) return null
    if (y < EVENT_STRIP) {
      if (x < 0 || y < -STRIP_ABOVE) return null
      let near: number | null = null
      for (const e of events) {
        const d = Math.abs(columnOf(e.step) * (box.width / mapWidth) - x)
        if (d <= 4 && (near === null || d < Math.abs(columnOf(near) * (box.width / mapWidth) - x))) near = e.step
      }
      if (near === null) return null
      const at = events.filter((e) => e.step === near)
      const sum = (op: string) => at.filter((e) => e.op === op).reduce((a, e) => a + e.count, 0)
      return { update: `topology update at step ${formatCount(near)}: ${formatCount(sum('drop'))} dropped, ${formatCount(sum('grow'))} grown` }
    }
    const j = Math.floor((y - EVENT_STRIP) / rowHeight)
    if (j < 0 || j >= layers.length || x < -gutter) return null
    const i = x < 0 ? count - 1 : nearestSample(steps, first + (x / Math.max(1, box.width - 1)) * span)
    return { layer: layers[j]!, step: steps[i]!, value: sparsity[i]![j] }
  }

  // the map and its labels as one PNG, on the page's background
  const download = () => {
    const map = canvas.current
    const labels = overlay.current
    if (!map || !labels) return
    const scale = labels.width / Math.max(1, width)
    const image = document.createElement('canvas')
    image.width = labels.width
    image.height = labels.height
    const context = image.getContext('2d')!
    context.fillStyle = getComputedStyle(root.current!.closest('.slp-dashboard') ?? root.current!).backgroundColor
    context.fillRect(0, 0, image.width, image.height)
    context.imageSmoothingEnabled = false
    context.drawImage(map, gutter * scale, STRIP_ABOVE * scale, mapWidth * scale, mapHeight * scale)
    context.drawImage(labels, 0, 0)
    const link = document.createElement('a')
    link.href = image.toDataURL('image/png')
    link.download = `${name}.png`
    link.click()
  }

  return (
    <div class="slp-heatmap" ref={root}>
      <div class="slp-heatmap-key" style={{ paddingLeft: `${gutter}px` }}>
        <span class="slp-heatmap-key-title">{diverging?.title ?? 'Sparsity'}</span>
        {diverging ? (
          <span class="slp-heatmap-scale" aria-hidden="true">
            <span class="slp-heatmap-legend" style={{ background: DIVERGING_CSS[isDark() ? 'dark' : 'light'] }} data-scheme={scheme} />
            <span class="slp-heatmap-scale-labels">
              <span>{formatSigned(-diverging.extent)}</span>
              <span>0</span>
              <span>{formatSigned(diverging.extent)}</span>
            </span>
            <span class="slp-heatmap-scale-labels">
              <span>{diverging.below}</span>
              <span>{diverging.above}</span>
            </span>
          </span>
        ) : (
          <span class="slp-heatmap-scale" aria-hidden="true">
            <span class="slp-heatmap-legend" />
            <span class="slp-heatmap-scale-labels">
              <span>0%</span>
              <span>50%</span>
              <span>100%</span>
            </span>
          </span>
        )}
        <span class="slp-heatmap-key-note">rows: {formatCount(layers.length)} layers in model order</span>
        <button type="button" class="slp-heatmap-download" title={`Download ${name} as PNG`} onClick={download}>
          PNG
        </button>
      </div>
      <div
        class="slp-heatmap-plot"
        style={{ height: `${width ? total : 0}px`, cursor: onLayer ? 'pointer' : 'default' }}
        onMouseMove={(event) => {
          const cell = at(event)
          setHover(
            !cell
              ? null
              : cell.update !== undefined
                ? cell.update
                : `${cell.layer} · ${fraction ? formatX(cell.step) : `step ${cell.step}`} · ${cell.value === null || cell.value === undefined ? '–' : formatValue(cell.value)}`,
          )
        }}
        onMouseLeave={() => setHover(null)}
        onClick={(event) => {
          const cell = at(event)
          if (cell?.layer !== undefined) onLayer?.(cell.layer)
        }}
      >
        <canvas
          ref={canvas}
          data-chart={name}
          data-rows="0"
          role="img"
          aria-label={`${diverging ? diverging.title : 'Per-layer sparsity'} heatmap: ${layers.length} layers × ${count} samples, ${fraction ? `fractions of training ${formatX(first)} to ${formatX(last)}` : `steps ${first} to ${last}`}`}
          style={{ left: `${gutter}px`, top: `${STRIP_ABOVE}px`, width: `${mapWidth}px`, height: `${mapHeight}px` }}
        />
        <canvas ref={overlay} class="slp-heatmap-overlay" aria-hidden="true" style={{ width: `${width}px`, height: `${total}px` }} />
      </div>
      <output class="slp-heatmap-hover" aria-live="polite">
        {hover ?? `${layers.length} layers, top to bottom: ${layers[0] ?? ''} … ${layers.at(-1) ?? ''}; hover for values, click to inspect`}
      </output>
    </div>
  )
}
