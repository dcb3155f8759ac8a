/**
 * The rules of schema v1 that relate two fields of one object, which JSON Schema cannot state. They are
 * written by hand here and once more in the Python tests (python/tests/wire_schema.py); keep them few.
 */
import { describe } from './describe.js'

/** Where a rule failed, relative to the object it checks, and why. */
export interface RuleFailure {
  path: (string | number)[]
  message: string
}

/** A rule sees an object whose fields already fit the schema, so it may read them as typed. */
export type Rule<T> = (value: T) => RuleFailure | null

/** A histogram's range is not empty. */
export const histogramRange: Rule<{ lo: number; hi: number }> = (h) =>
  h.lo < h.hi ? null : { path: ['hi'], message: `must be greater than lo (${h.lo})` }

/** A layer sample's counts agree: nnz ≤ numel, sparsity = 1 - nnz/numel, and the histogram holds at most nnz - nonfinite values. */
export const layerSampleCounts: Rule<{ nnz: number; numel: number; sparsity: number; hist: { counts: number[] }; nonfinite: number }> = (l) => {
  if (l.nnz > l.numel) return { path: ['nnz'], message: `must not exceed numel (${l.numel}), got ${l.nnz}` }
  const sparsity = 1 - l.nnz / l.numel
  if (Math.abs(l.sparsity - sparsity) > 1e-6) return { path: ['sparsity'], message: `must equal 1 - nnz/numel (${sparsity}), got ${l.sparsity}` }
  const counted = l.hist.counts.reduce((a, b) => a + b, 0)
  return counted + l.nonfinite > l.nnz ? { path: ['hist', 'counts'], message: `sum ${counted} plus nonfinite exceeds nnz (${l.nnz})` } : null
}

/** An event's rows, when given, add up to its count. */
export const eventRows: Rule<{ count: number; rows: number[] | null }> = (e) => {
  if (e.rows === null) return null
  const total = e.rows.reduce((a, b) => a + b, 0)
  return total === e.count ? null : { path: ['rows'], message: `must add up to count (${e.count}), got ${total}` }
}

/** A layer record's description is of the layer it names. */
export const layerRecordInfo: Rule<{ layer: string; info: { name: string } | null }> = (l) =>
  l.info === null || l.info.name === l.layer
    ? null
    : { path: ['info', 'name'], message: `must equal layer (${describe(l.layer)}), got ${describe(l.info.name)}` }
