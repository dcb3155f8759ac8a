/** Runs `callback` once, later (never before it returns), and returns a function that cancels it. */
export type Schedule = (callback: () => void) => () => void

/**
 * Before the browser's next repaint: an observer shows the records that arrived in one frame with one render.
 * @example const cancel = nextFrame(() => render())
 */
export const nextFrame: Schedule = (callback) => {
  const id = requestAnimationFrame(callback)
  return () => cancelAnimationFrame(id)
}
