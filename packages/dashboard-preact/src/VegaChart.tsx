import { useEffect, useRef } from 'preact/hooks'
import embed, { vega, type Result } from 'vega-embed'
import type { VegaLiteSpec } from '@sparselab-profiler/core'

export interface VegaChartProps {
  /** Re-embeds when its JSON changes; data changes alone are applied incrementally. */
  spec: VegaLiteSpec
  /** Rows per dataset name of `spec`. Arrays may grow in place. */
  data: Record<string, readonly object[]>
  /** Identifies the chart in the page (`data-chart`); its accessible label is the spec's description. */
  name: string
}

interface Shown {
  count: number
  first: object | undefined
}

/**
 * Renders a core spec once, then streams row changes into the live view as Vega changesets: rows
 * appended to an array are inserted, anything else replaces that dataset. `data-rows` counts the rows
 * shown across datasets.
 */
export function VegaChart({ spec, data, name }: VegaChartProps) {
  const host = useRef<HTMLDivElement>(null)
  const view = useRef<Result | undefined>(undefined)
  const shown = useRef<Record<string, Shown>>({})
  const latest = useRef(data)
  latest.current = data

  const sync = () => {
    const result = view.current
    if (!result) return
    let changed = false
    for (const [dataset, rows] of Object.entries(latest.current)) {
      const before = shown.current[dataset] ?? { count: 0, first: undefined }
      const appended = rows.length >= before.count && (before.count === 0 || rows[0] === before.first)
      if (appended && rows.length === before.count) continue
      const changes = appended ? vega.changeset().insert(rows.slice(before.count)) : vega.changeset().remove(() => true).insert(rows.slice())
      result.view.change(dataset, changes)
      shown.current[dataset] = { count: rows.length, first: rows[0] }
      changed = true
    }
    if (changed) void result.view.runAsync().then(() => host.current?.setAttribute('data-rows', String(shownRows(shown.current, spec))))
  }

  useEffect(() => {
    let cancelled = false
    const element = host.current!
    shown.current = {}
    const initial = latest.current
    const withData = { ...spec, datasets: { ...(spec.datasets as object), ...initial } }
    void embed(element, withData as never, { renderer: 'svg', actions: false }).then((result) => {
      if (cancelled) return result.finalize()
      view.current = result
      for (const [dataset, rows] of Object.entries(initial)) shown.current[dataset] = { count: rows.length, first: rows[0] }
      element.setAttribute('data-rows', String(shownRows(shown.current, spec)))
      sync()
    })
    return () => {
      cancelled = true
      view.current?.finalize()
      view.current = undefined
    }
    // The spec's JSON is its identity (not the object): a new object with the same content must not re-embed.
  }, [JSON.stringify({ ...spec, datasets: undefined })])

  useEffect(sync, [data, ...Object.values(data).map((rows) => rows.length)])

  return <div ref={host} class="slp-chart" data-chart={name} data-rows="0" />
}

// The chart's own dataset (its `data.name`, or the first layer's) is what `data-rows` reports.
function shownRows(shown: Record<string, Shown>, spec: VegaLiteSpec): number {
  const main = (spec.data as { name?: string } | undefined)?.name ?? ((spec.layer as { data?: { name?: string } }[] | undefined)?.at(-1)?.data?.name)
  return main ? (shown[main]?.count ?? 0) : 0
}
