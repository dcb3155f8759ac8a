import { formatCount, storageChanges, type LayerRecord } from '@sparselab-profiler/core'

export interface StorageChangesProps {
  /** The run's layer records, oldest first. */
  changes: readonly LayerRecord[]
  /** Rows shown at most, the newest first. @default 100 */
  limit?: number
}

/**
 * Where a layer's storage changed under the profiler (a mask removed or applied, its dtype or device
 * changed, the module left or joined the model); nothing when it never did.
 */
export function StorageChanges({ changes, limit = 100 }: StorageChangesProps) {
  if (changes.length === 0) return null
  const newest = changes.slice(-limit).reverse()
  const rows = storageChanges(newest)
  return (
    <details class="slp-changes">
      <summary>
        Storage changes ({formatCount(changes.length)}
        {changes.length > limit ? `, the newest ${limit} shown` : ''})
      </summary>
      <table class="slp-table" aria-label="Storage changes">
        <thead>
          <tr>
            <th>Step</th>
            <th>Layer</th>
            <th>Change</th>
            <th>Format</th>
            <th>Mask source</th>
            <th>Dtype</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={newest[i]!.seq} data-change-seq={newest[i]!.seq}>
              <td>{formatCount(row.step)}</td>
              <td>{row.layer}</td>
              <td>{row.reason}</td>
              {row.format === null ? (
                <td colSpan={3}>no longer profiled</td>
              ) : (
                <>
                  <td>{row.format}</td>
                  <td>{row.maskSource}</td>
                  <td>{row.dtype}</td>
                </>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  )
}
