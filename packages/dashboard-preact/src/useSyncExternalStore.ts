import { useEffect, useReducer, useRef } from 'preact/hooks'

/**
 * React's `useSyncExternalStore` on preact/hooks: the store's snapshot now, and a re-render whenever the store
 * tells its listener of a different one (by `Object.is`). preact/compat has one, but importing compat patches
 * preact's global options for the whole page (`onChange` on text inputs fires per keystroke, `onFocus` becomes
 * focusin…), which a host page with its own preact must not get from embedding the dashboard.
 * @example const state = useSyncExternalStore(observer.subscribe, observer.getSnapshot)
 */
export function useSyncExternalStore<T>(subscribe: (listener: () => void) => () => void, getSnapshot: () => T): T {
  const value = getSnapshot()
  const rendered = useRef(value)
  rendered.current = value
  const [, rerender] = useReducer((n: number) => n + 1, 0)
  useEffect(() => {
    const check = () => {
      if (!Object.is(rendered.current, getSnapshot())) rerender(undefined)
    }
    const unsubscribe = subscribe(check)
    check() // it may have changed between the render and this effect
    return unsubscribe
  }, [subscribe, getSnapshot])
  return value
}
