import { useEffect, useState } from 'preact/hooks'
import {
  eventRows,
  sparsityRows,
  type EventRow,
  type RunSnapshot,
  type SparsityRow,
  type WireRecord,
} from '@sparselab-profiler/core'
import { authHeaders } from './api.js'
import { followRun, type StreamStatus } from './followRun.js'

/** A run as the dashboard holds it; the arrays only grow, so charts can insert just the new rows. */
export interface LiveRun extends RunSnapshot {
  sparsityRows: SparsityRow[]
  eventRows: EventRow[]
}

export interface LiveRunState {
  data: LiveRun | null
  status: StreamStatus | 'loading' | 'error'
  error: string | null
  /** Increments whenever `data` changed in place. */
  version: number
}

function fromSnapshot(s: RunSnapshot): LiveRun {
  return { ...s, sparsityRows: sparsityRows(s.samples), eventRows: eventRows(s.events) }
}

function apply(data: LiveRun, record: WireRecord): void {
  data.lastSeq = record.seq
  if (record.type === 'sample') {
    data.samples.push(record)
    data.sparsityRows.push(...sparsityRows([record]))
  } else if (record.type === 'event') {
    data.events.push(record)
    data.eventRows.push(...eventRows([record]))
  } else if (record.type === 'sampler') {
    data.sampler.push(record)
  } else if (record.type === 'end') {
    data.end = record
  }
}

/**
 * Loads a run's snapshot, then applies its live records, re-rendering at most once per frame.
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
      setState({ data: null, status: 'loading', error: null, version: 0 })
      try {
        const response = await fetch(`${url}/api/runs/${encodeURIComponent(run)}`, { headers: authHeaders(token), cache: 'no-store' })
        if (!response.ok) throw new Error(`${response.status}: ${((await response.json()) as { error?: string }).error ?? ''}`)
        if (cancelled) return
        const data = fromSnapshot((await response.json()) as RunSnapshot)
        setState({ data, status: 'connecting', error: null, version: 0 })
        stop = followRun({
          url,
          run,
          after: data.lastSeq,
          token,
          onRecord: (record) => {
            apply(data, record)
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
