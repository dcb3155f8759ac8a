/**
 * The sparsity an algorithm aims for, when its parameters say (`sparsity`, or `target_sparsity`, between 0 and 1).
 * @example algorithmTarget({ name: 'RigL', params: { sparsity: 0.9 } }) // 0.9
 */
export function algorithmTarget(algorithm: { params: Record<string, unknown> } | null | undefined): number | null {
  const value = algorithm?.params.sparsity ?? algorithm?.params.target_sparsity
  return typeof value === 'number' && value >= 0 && value <= 1 ? value : null
}
