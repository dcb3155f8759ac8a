import { MAX_COMPARED_RUNS, type StepAlignment } from '@sparselab-profiler/core'

/** What the dashboard keeps in its page's URL, so a reload or a shared link shows the same view. */
export interface UrlState {
  run?: string
  /** Runs compared with `run` (at most MAX_COMPARED_RUNS − 1, none equal to it); absent: the single-run page. */
  compare?: string[]
  /** How the compare view lines the runs up; absent: by step. */
  align?: StepAlignment
  /** The inspected layer. */
  layer?: string
  /** The inspector's pinned step; absent: the newest. */
  step?: number
  /** The x range zoomed to (steps, or fractions of training when comparing by fraction); absent: the whole run. */
  zoom?: [number, number]
}

const NUMBER = String.raw`\d+(?:\.\d+)?`
const ZOOM = new RegExp(`^(${NUMBER})-(${NUMBER})$`)

/**
 * The runs to compare with `run`: each once, never `run` itself, at most MAX_COMPARED_RUNS − 1, in the order given.
 * @example comparedRuns('a', ['b', 'a', 'b', 'c']) // ['b', 'c']
 */
export function comparedRuns(run: string | undefined, compare: readonly string[]): string[] {
  return [...new Set(compare.filter((r) => r && r !== run))].slice(0, MAX_COMPARED_RUNS - 1)
}

/**
 * The compared runs with `other` taken out if it is one, else added last while there is room (MAX_COMPARED_RUNS − 1).
 * @example toggleCompared(['b'], 'c') // ['b', 'c']
 */
export function toggleCompared(compare: readonly string[], other: string): string[] {
  if (compare.includes(other)) return compare.filter((r) => r !== other)
  return compare.length < MAX_COMPARED_RUNS - 1 ? [...compare, other] : [...compare]
}

/** @example readUrlState('?run=r1&compare=r2&align=fraction&layer=fc1&zoom=100-900') // { run: 'r1', compare: ['r2'], align: 'fraction', layer: 'fc1', zoom: [100, 900] } */
export function readUrlState(search: string): UrlState {
  const params = new URLSearchParams(search)
  const state: UrlState = {}
  const run = params.get('run')
  const compare = comparedRuns(run ?? undefined, params.getAll('compare'))
  const layer = params.get('layer')
  const step = Number(params.get('step') ?? Number.NaN)
  const zoom = ZOOM.exec(params.get('zoom') ?? '')
  if (run) state.run = run
  if (compare.length) state.compare = compare
  if (params.get('align') === 'fraction') state.align = 'fraction'
  if (layer) state.layer = layer
  if (Number.isSafeInteger(step) && step >= 0) state.step = step
  if (zoom && Number(zoom[1]) < Number(zoom[2])) state.zoom = [Number(zoom[1]), Number(zoom[2])]
  return state
}

/** The search string for `state`, keeping parameters the dashboard does not own (a token). */
export function writeUrlState(search: string, state: UrlState): string {
  const params = new URLSearchParams(search)
  const set = (key: string, value: string | undefined) => (value === undefined ? params.delete(key) : params.set(key, value))
  set('run', state.run)
  params.delete('compare')
  for (const run of state.compare ?? []) params.append('compare', run)
  // by step is the default: a link says align only when it is by fraction
  set('align', state.compare?.length && state.align === 'fraction' ? 'fraction' : undefined)
  set('layer', state.layer)
  set('step', state.step === undefined ? undefined : String(state.step))
  set('zoom', state.zoom && `${state.zoom[0]}-${state.zoom[1]}`)
  const text = params.toString()
  return text ? `?${text}` : ''
}
