/** What the dashboard keeps in its page's URL, so a reload or a shared link shows the same view. */
export interface UrlState {
  run?: string
  /** The inspected layer. */
  layer?: string
  /** The inspector's pinned step; absent: the newest. */
  step?: number
  /** The step range zoomed to; absent: the whole run. */
  zoom?: [number, number]
}

/** @example readUrlState('?run=r1&layer=fc1&zoom=100-900') // { run: 'r1', layer: 'fc1', zoom: [100, 900] } */
export function readUrlState(search: string): UrlState {
  const params = new URLSearchParams(search)
  const state: UrlState = {}
  const run = params.get('run')
  const layer = params.get('layer')
  const step = Number(params.get('step') ?? Number.NaN)
  const zoom = /^(\d+)-(\d+)$/.exec(params.get('zoom') ?? '')
  if (run) state.run = run
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
  set('layer', state.layer)
  set('step', state.step === undefined ? undefined : String(state.step))
  set('zoom', state.zoom && `${state.zoom[0]}-${state.zoom[1]}`)
  const text = params.toString()
  return text ? `?${text}` : ''
}
