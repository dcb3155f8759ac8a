import { useEffect, useState } from 'preact/hooks'
import { FLAGS_DOC, formatCount, type Flag } from '@sparselab-profiler/core'
import type { RunsClient } from './runsClient.js'

/**
 * The run's flags, fetched again whenever the run's newest seq changes (so a flag shows within one sample of
 * its cause); while the server cannot be reached the last answer stays.
 */
export function useFlags(client: RunsClient, run: string | undefined, lastSeq: number | undefined): Flag[] {
  const [flags, setFlags] = useState<Flag[]>([])
  useEffect(() => setFlags([]), [client, run])
  useEffect(() => {
    if (!run || lastSeq === undefined) return
    const controller = new AbortController()
    // a burst of records asks once, after it
    const timer = setTimeout(() => {
      client.flags(run, { signal: controller.signal }).then(setFlags, () => {})
    }, 250)
    return () => {
      clearTimeout(timer)
      controller.abort()
    }
  }, [client, run, lastSeq])
  return flags
}

export interface FlagsPanelProps {
  flags: Flag[]
  /** Inspects a flag's layer at the flag's last step. */
  onInspect: (layer: string, step: number) => void
}

/** Findings, the most severe first: each says what, where and since when, what to do, and links its rule's explanation. */
export function FlagsPanel({ flags, onInspect }: FlagsPanelProps) {
  if (!flags.length) return null
  return (
    <section class="slp-flags" aria-label="Flags">
      <h2>Findings</h2>
      <ul>
        {flags.map((flag) => {
          const where = flag.from === flag.to ? `step ${formatCount(flag.to)}` : `steps ${formatCount(flag.from)}–${formatCount(flag.to)}`
          const layer = flag.layers[0]
          return (
            <li key={`${flag.rule}:${flag.layers.join(',')}`} class={`slp-flag slp-flag-${flag.severity}`} data-rule={flag.rule}>
              <span class="slp-flag-severity">{flag.severity}</span>{' '}
              <a href={`${FLAGS_DOC}#${flag.rule}`} target="_blank" rel="noreferrer">
                {flag.rule}
              </a>{' '}
              · {where}
              {layer !== undefined && (
                <>
                  {' '}
                  <button type="button" onClick={() => onInspect(layer, flag.to)}>
                    Inspect {layer}
                  </button>
                </>
              )}
              <p>{flag.message}</p>
              <p class="slp-note">Fix: {flag.fix}</p>
            </li>
          )
        })}
      </ul>
    </section>
  )
}
