import { useEffect, useRef } from 'preact/hooks'
import embed, { vega, type Result } from 'vega-embed'
import type { VegaLiteSpec } from '@sparselab-profiler/core'

export interface VegaChartProps {
  /** Re-embeds when this changes; data changes alone are applied incrementally. */
  spec: VegaLiteSpec
  /** Name of the dataset in `spec` that `rows` feeds. */
  dataset: string
  rows: readonly object[]
  /** Identifies the chart in the page (`data-chart`); its accessible label is the spec's description. */
  name: string
}

/**
 * Renders a core spec once and then streams row changes into the live view as Vega changesets:
 * appended rows are inserted, anything else replaces the dataset. `data-rows` reports what is shown.
 */
export function VegaChart({ spec, dataset, rows, name }: VegaChartProps) {
  const host = useRef<HTMLDivElement>(null)
  const view = useRef<Result | undefined>(undefined)
  const shown = useRef<{ count: number; first: object | undefined }>({ count: 0, first: undefined })
  const latestRows = useRef(rows)
  latestRows.current = rows

  useEffect(() => {
    let cancelled = false
    const element = host.current!
    const initial = latestRows.current
    const withRows = { ...spec, datasets: { ...(spec.datasets as object), [dataset]: initial } }
    void embed(element, withRows as never, { renderer: 'svg', actions: false }).then((result) => {
      if (cancelled) return result.finalize()
      view.current = result
      shown.current = { count: initial.length, first: initial[0] }
      element.setAttribute('data-rows', String(initial.length))
      syncRows(latestRows.current)
    })
    return () => {
      cancelled = true
      view.current?.finalize()
      view.current = undefined
    }
    // The spec's JSON is its identity: a new object with the same content must not re-embed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify({ ...spec, datasets: undefined })])

  const syncRows = (next: readonly object[]) => {
    const result = view.current
    if (!result) return
    const { count, first } = shown.current
    const appended = next.length >= count && (count === 0 || next[0] === first)
    const changes = appended
      ? vega.changeset().insert(next.slice(count))
      : vega.changeset().remove(() => true).insert(next.slice())
    if (appended && next.length === count) return
    void result.view.change(dataset, changes).runAsync().then(() => {
      host.current?.setAttribute('data-rows', String(next.length))
    })
    shown.current = { count: next.length, first: next[0] }
  }

  useEffect(() => syncRows(rows), [rows, rows.length])

  return <div ref={host} class="slp-chart" data-chart={name} data-rows="0" />
}
