import { useEffect, useRef } from 'preact/hooks'
import embed, { vega, type Result } from 'vega-embed'
import { chartConfig, type VegaLiteSpec } from '@sparselab-profiler/core'
import { useColorScheme } from './useColorScheme.js'

export interface VegaChartProps {
  /** Re-embeds when its JSON changes; data changes alone are applied incrementally. */
  spec: VegaLiteSpec
  /** Rows per dataset name of `spec`. Arrays may grow in place. */
  data: Record<string, readonly object[]>
  /** Identifies the chart in the page (`data-chart`) and names its downloads; its accessible label is the spec's description. */
  name: string
  /** Values of the spec's params (the shared step domain), set without re-embedding. */
  signals?: Record<string, number>
  /** Shown instead of the chart while every dataset is empty (an empty chart draws axes over nothing). */
  empty?: string
  /** Called with the step range dragged across a chart whose spec has a `zoom` interval param. */
  onZoom?: (range: [number, number]) => void
}

interface Shown {
  count: number
  first: object | undefined
}

/**
 * Renders a core spec once, themed for the page's colour scheme, then streams row changes into the live
 * view as Vega changesets: rows appended to an array are inserted, anything else replaces that dataset.
 * While scrolled out of view it takes no updates, and catches up when it comes back into view.
 * `data-rows` counts the rows shown of the chart's own dataset. PNG and SVG downloads sit in its corner.
 */
export function VegaChart({ spec, data, name, signals = {}, empty, onZoom }: VegaChartProps) {
  const host = useRef<HTMLDivElement>(null)
  const view = useRef<Result | undefined>(undefined)
  const shown = useRef<Record<string, Shown>>({})
  const latest = useRef({ data, signals, onZoom })
  latest.current = { data, signals, onZoom }
  const scheme = useColorScheme()
  const blank = empty !== undefined && Object.values(data).every((rows) => rows.length === 0)
  // a chart scrolled out of view takes no updates (a live page redraws only what is seen) and catches up on return
  const visible = useRef(true)

  const sync = () => {
    const result = view.current
    if (!result || !visible.current) return
    let changed = false
    for (const [dataset, rows] of Object.entries(latest.current.data)) {
      const before = shown.current[dataset] ?? { count: 0, first: undefined }
      const appended = rows.length >= before.count && (before.count === 0 || rows[0] === before.first)
      if (appended && rows.length === before.count) continue
      const changes = appended ? vega.changeset().insert(rows.slice(before.count)) : vega.changeset().remove(() => true).insert(rows.slice())
      result.view.change(dataset, changes)
      shown.current[dataset] = { count: rows.length, first: rows[0] }
      changed = true
    }
    for (const [signal, value] of Object.entries(latest.current.signals)) {
      if (result.view.signal(signal) === value) continue
      result.view.signal(signal, value)
      changed = true
    }
    // new rows or a new domain can widen an axis's labels: the layout is fitted again (Vega fits it once by default)
    if (changed) void result.view.resize().runAsync().then(() => host.current?.setAttribute('data-rows', String(shownRows(shown.current, spec))))
  }

  useEffect(() => {
    if (blank) return
    let cancelled = false
    const element = host.current!
    shown.current = {}
    const initial = latest.current.data
    // the params start at the page's values (the shared step domain), not the spec's placeholders
    const params = (spec.params as { name: string; value?: unknown }[] | undefined)?.map((p) =>
      p.name in latest.current.signals ? { ...p, value: latest.current.signals[p.name] } : p,
    )
    const themed = { ...spec, ...(params ? { params } : {}), config: chartConfig(scheme), datasets: { ...(spec.datasets as object), ...initial } }
    void embed(element, themed as never, { renderer: 'svg', actions: false }).then((result) => {
      if (cancelled) return result.finalize()
      view.current = result
      for (const [dataset, rows] of Object.entries(initial)) shown.current[dataset] = { count: rows.length, first: rows[0] }
      element.setAttribute('data-rows', String(shownRows(shown.current, spec)))
      if (hasParam(spec, 'zoom')) followZoom(result, element, (range) => latest.current.onZoom?.(range))
      sync()
    })
    const seen = new IntersectionObserver(([entry]) => {
      visible.current = entry!.isIntersecting
      sync()
    })
    seen.observe(element)
    return () => {
      seen.disconnect()
      cancelled = true
      view.current?.finalize()
      view.current = undefined
    }
    // The spec's JSON is its identity (not the object): a new object with the same content must not re-embed.
  }, [JSON.stringify({ ...spec, datasets: undefined }), scheme, blank])

  useEffect(sync, [data, ...Object.values(data).map((rows) => rows.length), ...Object.values(signals)])

  const download = async (format: 'png' | 'svg') => {
    const result = view.current
    if (!result) return
    const link = document.createElement('a')
    link.href = await result.view.toImageURL(format, format === 'png' ? 2 : 1)
    link.download = `${name}.${format}`
    link.click()
  }

  return (
    <figure class="slp-figure">
      {blank ? (
        <p class="slp-chart slp-chart-empty" data-chart={name} data-rows="0">
          {empty}
        </p>
      ) : (
        <>
          <div ref={host} class="slp-chart" data-chart={name} data-rows="0" />
          <div class="slp-downloads">
            <button type="button" title={`Download ${name} as PNG`} onClick={() => void download('png')}>
              PNG
            </button>
            <button type="button" title={`Download ${name} as SVG`} onClick={() => void download('svg')}>
              SVG
            </button>
          </div>
        </>
      )}
    </figure>
  )
}

function hasParam(spec: VegaLiteSpec, param: string): boolean {
  const layers = (spec.layer as { params?: { name: string }[] }[] | undefined) ?? [spec as { params?: { name: string }[] }]
  return layers.some((layer) => layer.params?.some((p) => p.name === param))
}

// The interval dragged across the chart, reported once the pointer is released, then cleared from the chart: steps
// rounded outwards to whole steps, any other x (a compare chart's fraction of training) as it is.
function followZoom(result: Result, element: HTMLElement, onZoom: (range: [number, number]) => void) {
  let range: [number, number] | null = null
  let steps = true
  result.view.addSignalListener('zoom', (_, value: { step?: [number, number]; x?: [number, number] } | undefined) => {
    range = value?.step ?? value?.x ?? null
    steps = value?.step !== undefined
  })
  element.addEventListener('pointerup', () => {
    if (!range || range[1] - range[0] <= 0) return
    const chosen: [number, number] = steps ? [Math.floor(range[0]), Math.ceil(range[1])] : [range[0], range[1]]
    range = null
    onZoom(chosen)
    // the brush has done its work: the charts now show the range it covered
    void result.view.signal('zoom_x', []).runAsync()
  })
}

// The chart's own dataset (its `data.name`, or the last layer's) is what `data-rows` reports.
function shownRows(shown: Record<string, Shown>, spec: VegaLiteSpec): number {
  const layers = spec.layer as { data?: { name?: string } }[] | undefined
  const main = (spec.data as { name?: string } | undefined)?.name ?? [...(layers ?? [])].reverse().find((l) => l.data?.name)?.data?.name
  return main ? (shown[main]?.count ?? 0) : 0
}
