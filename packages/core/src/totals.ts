import type { SampleRecord } from './schema.js'

/** Whole-model figures derived from one sample; never sent on the wire. */
export interface ModelTotals {
  nnz: number
  numel: number
  sparsity: number
  bytes: number
  denseBytes: number
  /** Dense baseline minus actual bytes; negative when the sparse storage costs more. */
  savedBytes: number
}

/**
 * Sums a sample's layers into model totals.
 * @example deriveTotals(sample).sparsity // 0.9
 */
export function deriveTotals(sample: Pick<SampleRecord, 'layers'>): ModelTotals {
  let nnz = 0
  let numel = 0
  let bytes = 0
  let denseBytes = 0
  for (const layer of sample.layers) {
    nnz += layer.nnz
    numel += layer.numel
    bytes += layer.bytes
    denseBytes += layer.dense_bytes
  }
  return { nnz, numel, sparsity: numel === 0 ? 0 : 1 - nnz / numel, bytes, denseBytes, savedBytes: denseBytes - bytes }
}

/**
 * Formats a fraction as a percentage with two decimals.
 * @example formatPercent(0.743) // '74.30%'
 */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`
}

/**
 * A layer's name for people: a tied weight is profiled once, under its first module, and names the others.
 * @example formatLayerName('decoder', ['encoder.embed']) // 'decoder (also: encoder.embed)'
 */
export function formatLayerName(name: string, aliases: readonly string[] = []): string {
  return aliases.length ? `${name} (also: ${aliases.join(', ')})` : name
}

/**
 * The default report file name, `sparsity_report_<date>_<step>.html` (UTC date).
 * @example reportFileName(1450, new Date('2025-04-15')) // 'sparsity_report_2025-04-15_1450.html'
 */
export function reportFileName(step: number, date = new Date()): string {
  return `sparsity_report_${date.toISOString().slice(0, 10)}_${step}.html`
}

/**
 * The default compare report file name, `sparsity_compare_<date>.html` (UTC date).
 * @example compareReportFileName(new Date('2025-04-15')) // 'sparsity_compare_2025-04-15.html'
 */
export function compareReportFileName(date = new Date()): string {
  return `sparsity_compare_${date.toISOString().slice(0, 10)}.html`
}

/**
 * Formats a byte count with binary units, keeping the sign.
 * @example formatBytes(-335872) // '-328 KiB'
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = Math.abs(bytes)
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2
  return `${bytes < 0 ? '-' : ''}${value.toFixed(digits)} ${units[unit]}`
}

/**
 * Memory against the dense baseline in words, one sign convention everywhere: what is saved, or what the
 * sparse storage costs on top of dense.
 * @example describeSaving(240_640, 337_920) // '235 KiB saved: 71% of the 330 KiB dense baseline'
 * @example describeSaving(2_355, 0) // '2.30 KiB more than dense'
 */
export function describeSaving(savedBytes: number, denseBytes: number): string {
  const share = denseBytes > 0 ? `: ${Math.round((Math.abs(savedBytes) / denseBytes) * 100)}% of the ${formatBytes(denseBytes)} dense baseline` : ''
  if (savedBytes > 0) return `${formatBytes(savedBytes)} saved${share}`
  if (savedBytes < 0) return `${formatBytes(-savedBytes)} more than dense${share}`
  return 'same as dense'
}

/**
 * One layer's memory against its dense size, short enough for a table cell.
 * @example memoryVsDense(1024, 5120) // '4.00 KiB less than dense'
 */
export function memoryVsDense(bytes: number, denseBytes: number): string {
  const saved = denseBytes - bytes
  if (saved === 0) return 'same as dense'
  return `${formatBytes(Math.abs(saved))} ${saved > 0 ? 'less' : 'more'} than dense`
}

/**
 * A count with thousands separators, as every number people read here is written.
 * @example formatCount(84480) // '84,480'
 */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}
