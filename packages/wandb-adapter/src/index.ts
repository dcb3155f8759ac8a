/** @sparselab-profiler/wandb-adapter — maps profiler samples to W&B metric names; forwarding lands later. */
import { deriveTotals, type SampleRecord } from '@sparselab-profiler/core'

/**
 * The scalar metrics a sample becomes in W&B, keyed the way W&B groups panels (`section/name`).
 * @example toWandbScalars(sample) // { 'sparsity/fc1': 0.9, 'model/sparsity': 0.9, ... }
 */
export function toWandbScalars(sample: SampleRecord): Record<string, number> {
  const totals = deriveTotals(sample)
  const scalars: Record<string, number> = {
    'model/sparsity': totals.sparsity,
    'model/nnz': totals.nnz,
    'model/memory_saved_bytes': totals.savedBytes,
  }
  for (const layer of sample.layers) {
    scalars[`sparsity/${layer.name}`] = layer.sparsity
    scalars[`nnz/${layer.name}`] = layer.nnz
  }
  return scalars
}
