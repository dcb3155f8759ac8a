import type { Flag, LayerHistory, ReportSection, RunOverview, RunSummary, StepAlignment } from '@sparselab-profiler/core'

export interface RunsClientOptions {
  /** Server base URL, e.g. `http://127.0.0.1:8080`. @default '' (the page's own origin) */
  url?: string
  /** Bearer token of a server started with --token. @default undefined (no Authorization header) */
  token?: string
  /** The fetch to call; a test passes a fake or a Hono app's `request`. @default the global fetch */
  fetch?: (input: string, init: RequestInit) => Promise<Response>
}

/** Every request the dashboard makes of a profiler server. Each rejects with the server's `error` when it answers non-2xx. */
export interface RunsClient {
  /** `GET /api/runs`: every run the server holds, the most recent first. */
  listRuns(options?: { signal?: AbortSignal }): Promise<RunSummary[]>
  /** `GET /api/runs/:run/overview`: the run's overview, its matrix over at most `points` samples. @default points: the server's (300) */
  overview(run: string, options?: { points?: number; signal?: AbortSignal }): Promise<RunOverview>
  /** `GET /api/runs/:run/layer`: one layer's history over at most `points` samples. @default points: the server's (500) */
  layerHistory(run: string, layer: string, options?: { points?: number; signal?: AbortSignal }): Promise<LayerHistory>
  /** `GET /api/runs/:run/flags`: what the run's records show is wrong, the most severe first. */
  flags(run: string, options?: { signal?: AbortSignal }): Promise<Flag[]>
  /**
   * `GET /stream?run=` with `Last-Event-ID: after`: the run's SSE stream from the record after seq `after`.
   * Read with fetch rather than EventSource, which cannot send the Authorization header.
   */
  stream(run: string, options: { after: number; signal?: AbortSignal }): Promise<NonNullable<Response['body']>>
  /** `POST /export` (JSON): the run's report as one HTML file. */
  exportReport(request: { run: string; title: string; sections: readonly ReportSection[] }): Promise<Blob>
  /** `POST /export` (JSON `{run, compare, align, title}`): the compare report of `run` (A) and the runs of `compare` as one HTML file. */
  exportCompareReport(request: { run: string; compare: readonly string[]; align: StepAlignment; title: string }): Promise<Blob>
}

/**
 * The typed client of a profiler server's dashboard routes: the one place their paths, query parameters and
 * headers are spelled.
 * @example
 * const client = runsClient({ url: 'http://127.0.0.1:8080', token })
 * const [newest] = await client.listRuns()
 */
export function runsClient(options: RunsClientOptions = {}): RunsClient {
  const base = options.url ?? ''
  const auth: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {}
  const send = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init))

  const request = async (path: string, what: string, init: RequestInit = {}): Promise<Response> => {
    const response = await send(`${base}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } })
    if (response.ok) return response
    const body = (await response.json().catch(() => ({}))) as { error?: unknown }
    throw new Error(typeof body.error === 'string' ? body.error : `${what} answered ${response.status}`)
  }
  const getJson = async <T>(path: string, what: string, signal?: AbortSignal): Promise<T> =>
    (await (await request(path, what, { signal, cache: 'no-store' })).json()) as T
  const runPath = (run: string) => `/api/runs/${encodeURIComponent(run)}`
  const query = (parameters: Record<string, string | number | undefined>) => {
    const given = Object.entries(parameters).filter(([, value]) => value !== undefined)
    return given.length ? `?${given.map(([key, value]) => `${key}=${encodeURIComponent(value!)}`).join('&')}` : ''
  }

  return {
    listRuns: async ({ signal } = {}) => (await getJson<{ runs: RunSummary[] }>('/api/runs', 'runs', signal)).runs,
    overview: (run, { points, signal } = {}) => getJson(`${runPath(run)}/overview${query({ points })}`, 'overview', signal),
    layerHistory: (run, layer, { points, signal } = {}) => getJson(`${runPath(run)}/layer${query({ name: layer, points })}`, 'layer history', signal),
    flags: async (run, { signal } = {}) => (await getJson<{ flags: Flag[] }>(`${runPath(run)}/flags`, 'flags', signal)).flags,
    stream: async (run, { after, signal }) => {
      const headers = { Accept: 'text/event-stream', 'Last-Event-ID': String(after) }
      const response = await request(`/stream${query({ run })}`, 'stream', { signal, cache: 'no-store', headers })
      if (!response.body) throw new Error('stream answered without a body')
      return response.body
    },
    exportReport: async ({ run, title, sections }) => {
      const body = JSON.stringify({ run, title, sections })
      return (await request('/export', 'export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })).blob()
    },
    exportCompareReport: async ({ run, compare, align, title }) => {
      const body = JSON.stringify({ run, compare, align, title })
      return (await request('/export', 'export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })).blob()
    },
  }
}
