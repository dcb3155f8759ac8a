import { useEffect, useState } from 'preact/hooks'
import {
  HEATMAP_LAYER_THRESHOLD,
  decimateSamples,
  eventsPerStep,
  sparsityColumn,
  type EventRow,
  type LayerInfo,
  type LayerRecord,
  type RunOverview,
  type SparsityRow,
  type WireRecord,
} from '@sparselab-profiler/core'
import { authHeaders } from './api.js'
import { followRun, type StreamStatus } from './followRun.js'

/** Samples the overview asks for; the page thins its own copy back to this when it holds twice as many. */
export const OVERVIEW_POINTS = 300

/**
 * A run as the dashboard holds it: the server's overview, grown in place by live records. Its arrays only
 * grow between thinnings, so charts insert just the new rows.
 */
export interface LiveRun extends RunOverview {
  /** One row per layer per step, for the line chart; empty past HEATMAP_LAYER_THRESHOLD layers. */
  sparsityRows: SparsityRow[]
  /** Told every live record after the overview, in seq order (the inspector follows its layer this way). */
  listeners: Set<(record: WireRecord) => void>
  /** Samples received live since the overview (thinning does not change it). */
  liveSamples: number
  /** Index of each layer in `run.layers`, which layer records update in place. */
  layerIndex: Map<string, number>
  /** Increments when a layer record adds a layer to `run.layers`: what is derived from the names must be rebuilt. */
  layersAdded: number
}

/** Storage changes the page keeps; it drops the oldest once it holds twice as many. */
export const MAX_LAYER_CHANGES = 1000

export interface LiveRunState {
  data: LiveRun | null
  status: StreamStatus | 'loading' | 'error'
  error: string | null
  /** Increments whenever `data` changed in place. */
  version: number
}

function lineRows(overview: RunOverview, from = 0): SparsityRow[] {
  if (overview.run.layers.length > HEATMAP_LAYER_THRESHOLD) return []
  const rows: SparsityRow[] = []
  for (let i = from; i < overview.steps.length; i++)
    overview.run.layers.forEach((layer, j) => {
      const sparsity = overview.sparsity[i]![j]
      if (sparsity !== null && sparsity !== undefined) rows.push({ step: overview.steps[i]!, layer: layer.name, sparsity })
    })
  return rows
}

export function fromOverview(overview: RunOverview): LiveRun {
  const layerIndex = new Map(overview.run.layers.map((l, i) => [l.name, i]))
  return { ...overview, sparsityRows: lineRows(overview), listeners: new Set(), liveSamples: 0, layerIndex, layersAdded: 0 }
}

/** The layer's latest description, as layer records left it. */
export function layerInfo(data: LiveRun, name: string): LayerInfo | undefined {
  const index = data.layerIndex.get(name)
  return index === undefined ? undefined : data.run.layers[index]
}

// As the RunStore applies it: replaced in place, a new layer appended (its matrix column starts now), one that
// left kept listed as untracked.
function applyLayerChange(data: LiveRun, change: LayerRecord): void {
  data.layerChanges.push(change)
  if (data.layerChanges.length > 2 * MAX_LAYER_CHANGES) data.layerChanges = data.layerChanges.slice(-MAX_LAYER_CHANGES)
  const index = data.layerIndex.get(change.layer)
  if (change.info === null) {
    if (index !== undefined && !data.untracked.includes(change.layer)) data.untracked = [...data.untracked, change.layer]
    return
  }
  if (data.untracked.includes(change.layer)) data.untracked = data.untracked.filter((name) => name !== change.layer)
  if (index !== undefined) {
    data.run.layers[index] = change.info
    return
  }
  data.layerIndex.set(change.layer, data.run.layers.length)
  data.run.layers.push(change.info)
  data.layersAdded++
}

/** Thins the matrix evenly back to OVERVIEW_POINTS samples (the first and newest kept) once it holds twice as many. */
function thin(data: LiveRun): void {
  if (data.steps.length <= 2 * OVERVIEW_POINTS) return
  const kept = decimateSamples(data.steps.map((_, i) => i), OVERVIEW_POINTS)
  data.steps = kept.map((i) => data.steps[i]!)
  data.sparsity = kept.map((i) => data.sparsity[i]!)
  data.sparsityRows = lineRows(data)
}

function addEvent(data: LiveRun, row: EventRow): void {
  let index = data.events.length - 1 // events arrive in step order: their row, if any, is near the end
  while (index >= 0 && !(data.events[index]!.step === row.step && data.events[index]!.op === row.op)) index--
  if (index < 0) {
    data.events.push(row)
    return
  }
  // a new array: the chart sees a changed row, not an append, and redraws it
  const merged = { ...data.events[index]!, count: data.events[index]!.count + row.count, signed: data.events[index]!.signed + row.signed }
  data.events = data.events.map((e, i) => (i === index ? merged : e))
}

/** Grows `data` in place by one live record. */
export function applyLiveRecord(data: LiveRun, record: WireRecord): void {
  data.lastSeq = record.seq
  if (record.type === 'sample') {
    data.steps.push(record.step)
    data.sparsity.push(sparsityColumn(record, data.run.layers))
    data.sparsityRows.push(...lineRows(data, data.steps.length - 1))
    data.first ??= record
    data.latest = record
    data.liveSamples++
    thin(data)
  } else if (record.type === 'event') {
    for (const row of eventsPerStep([record])) addEvent(data, row)
  } else if (record.type === 'sampler') {
    data.sampler.push(record)
  } else if (record.type === 'layer') {
    applyLayerChange(data, record)
  } else if (record.type === 'end') {
    data.end = record
  }
  for (const listener of data.listeners) listener(record)
}

/**
 * Loads a run's overview, then applies its live records, re-rendering at most once per frame.
 * @example const { data, status } = useLiveRun({ url: '', run })
 */
export function useLiveRun({ url, run, token }: { url: string; run: string | undefined; token?: string }): LiveRunState {
  const [state, setState] = useState<LiveRunState>({ data: null, status: 'loading', error: null, version: 0 })

  useEffect(() => {
    if (!run) return
    let stop = () => {}
    let cancelled = false
    let frame: number | undefined
    const bump = () => {
      frame ??= requestAnimationFrame(() => {
        frame = undefined
        setState((s) => ({ ...s, version: s.version + 1 }))
      })
    }
    const load = async () => {
      stop()
      setState({ data: null, status: 'loading', error: null, version: 0 })
      try {
        const address = `${url}/api/runs/${encodeURIComponent(run)}/overview?points=${OVERVIEW_POINTS}`
        const response = await fetch(address, { headers: authHeaders(token), cache: 'no-store' })
        if (!response.ok) throw new Error(`${response.status}: ${((await response.json()) as { error?: string }).error ?? ''}`)
        const overview = (await response.json()) as RunOverview
        if (cancelled) return
        const data = fromOverview(overview)
        setState({ data, status: 'connecting', error: null, version: 0 })
        stop = followRun({
          url,
          run,
          after: data.lastSeq,
          token,
          onRecord: (record) => {
            applyLiveRecord(data, record)
            bump()
          },
          onReset: () => void load(),
          onStatus: (status) => setState((s) => ({ ...s, status })),
        })
      } catch (error) {
        if (!cancelled) setState({ data: null, status: 'error', error: (error as Error).message, version: 0 })
      }
    }
    void load()
    return () => {
      cancelled = true
      stop()
      if (frame !== undefined) cancelAnimationFrame(frame)
    }
  }, [url, run, token])

  return state
}
