import { useState } from 'preact/hooks'

const SNIPPET = `from sparselab_profiler import SparsityProfilerCallback

with SparsityProfilerCallback(every=10) as profiler:
    profiler.attach(model, algorithm=rigl)   # rigl: your sparselab.RigL / SET, or None
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step(); rigl.step()
        profiler.step(loss=loss)`

/** What the page shows before any run reached the server: how to send one. */
export function EmptyState({ url }: { url: string }) {
  const [copied, setCopied] = useState(false)
  const server = url || location.origin
  return (
    <section class="slp-empty-state" aria-label="No runs yet">
      <h2>No runs yet</h2>
      <p>
        This server ({server}) has not received a run. Add the callback to a training loop; the run appears here as soon as it
        starts.
      </p>
      <pre>
        <code>{SNIPPET}</code>
      </pre>
      <button
        type="button"
        onClick={() => {
          void navigator.clipboard?.writeText(SNIPPET).then(() => setCopied(true), () => setCopied(false))
        }}
      >
        {copied ? 'Copied' : 'Copy snippet'}
      </button>
    </section>
  )
}
