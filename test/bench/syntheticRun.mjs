// A synthetic RigL training run that follows schema v1 exactly, for the load and scale benchmarks: a
// GPT-like stack of SparseLab layers, samples with exact 64-bin histograms of their non-zeros, and a drop
// and a grow event per layer at each update with per-row counts. Generated, not trained: say so next to
// any figure it produces.
import { SCHEMA_VERSION, formatNdjsonError, parseNdjson, validateRecord } from '@sparselab-profiler/core'

export const MAX_BATCH_BYTES = 1 << 20 // python/src/sparselab_profiler/sender.py: batch_bytes
export const BINS = 64

export function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A GPT-like stack: per block attn.qkv, attn.proj, mlp.fc1, mlp.fc2 (SparseLab SparseLinear, padded CSR). */
export function modelLayers(layerCount, d = 256) {
  const kinds = [['attn.qkv', [3 * d, d]], ['attn.proj', [d, d]], ['mlp.fc1', [4 * d, d]], ['mlp.fc2', [d, 4 * d]]]
  return Array.from({ length: layerCount }, (_, i) => {
    const [kind, shape] = kinds[i % 4]
    return { name: `blocks.${Math.floor(i / 4)}.${kind}`, shape, numel: shape[0] * shape[1], dtype: 'float32', format: 'padded_csr', mask_source: 'sparselab' }
  })
}

/** `count` spread over `n` rows, unevenly, adding up exactly (what a hooked SparseLab algorithm reports). */
function spreadRows(count, n, rand) {
  const rows = new Array(n).fill(Math.floor(count / n))
  for (let rest = count - rows[0] * n; rest > 0; rest--) rows[(rand() * n) | 0]++
  for (let k = 0; k < n / 4; k++) {
    const a = (rand() * n) | 0
    if (rows[a] > 0) rows[a]--, rows[(rand() * n) | 0]++
  }
  return rows
}

/**
 * The records of one RigL training run, in seq order: the run record, a sample every `every` steps (every
 * layer, 64-bin histogram of its non-zeros adding up to nnz), a drop and a grow event per layer every
 * `updateEvery` steps (0: none), and the end record. nnz stays constant per layer, as under RigL/SET.
 */
/**
 * A RigL run of `layerCount` layers. `exploration`: samples carry the mask history (active_ever, mask_changed,
 * regrown), absmax and capacity; `metrics`: this many plugin metrics per layer sample, each declared with limits
 * (the first a warn_above that every hundredth layer crosses).
 */
export function* trainingRun({ run, layerCount, steps, every, updateEvery, seed, exploration = false, metrics = 0 }) {
  const rand = mulberry32(seed)
  const layers = modelLayers(layerCount)
  const started = 1764460800 + seed
  let seq = 0
  yield {
    type: 'run', run, seq: seq++, name: `bench-rigl-${layerCount}`, started, schema: SCHEMA_VERSION, host: 'bench-node',
    profiler: 'sparselab-profiler 0.1.0', algorithm: { name: 'RigL', params: { sparsity: 0.9, drop_fraction: 0.3, update_freq: updateEvery || null } },
    layers, sampler: { every },
  }
  const metricNames = Array.from({ length: metrics }, (_, k) => `metric_${k}`)
  for (const [k, name] of metricNames.entries())
    yield { type: 'metric', run, seq: seq++, step: 0, time: started, name, warn_above: k === 0 ? 0.99 : 10, warn_below: k === 0 ? null : -10 }
  const state = layers.map((layer) => {
    const nnz = Math.round(layer.numel * (0.08 + 0.04 * rand()))
    // Magnitude-pruned weights: two humps away from zero.
    const profile = Array.from({ length: BINS }, (_, i) => {
      const x = ((i + 0.5) / BINS) * 2 - 1
      return Math.exp(-((Math.abs(x) - 0.45) ** 2) / 0.03) + 0.02
    })
    return { nnz, capacity: Math.ceil(nnz * 1.25), bytes: Math.ceil(nnz * 1.25) * 8 + layer.shape[0] * 16, half: 0.05 + 0.1 * rand(), profile, ever: nnz, changed: null }
  })
  const histogram = (s) => {
    const weights = s.profile.map((p) => p * (0.85 + 0.3 * rand()))
    const total = weights.reduce((a, b) => a + b, 0)
    const counts = weights.map((w) => Math.floor((s.nnz * w) / total))
    for (let rest = s.nnz - counts.reduce((a, b) => a + b, 0); rest > 0; rest--) counts[(rand() * BINS) | 0]++
    return counts
  }
  let step = 0
  for (; step < steps; step++) {
    const time = started + step * 0.05
    if (updateEvery && step > 0 && step % updateEvery === 0) {
      const fraction = (0.3 * (1 + Math.cos((Math.PI * step) / steps))) / 2 // RigL's cosine-decayed drop fraction
      for (const [i, layer] of layers.entries()) {
        const count = Math.max(1, Math.round(state[i].nnz * fraction))
        const base = { run, step, time, layer: layer.name, count, exact: true, algorithm: 'RigL' }
        yield { type: 'event', ...base, seq: seq++, op: 'drop', requested: count, rows: spreadRows(count, layer.shape[0], rand) }
        const grow = { type: 'event', ...base, seq: seq++, op: 'grow', requested: null, rows: spreadRows(count, layer.shape[0], rand) }
        if (exploration) {
          // growth finds fewer untried positions as training goes on; a sixth regrows what the last update dropped
          const s = state[i]
          s.ever = Math.min(layer.numel, s.ever + Math.round(count * 0.5 * (1 - step / steps)))
          s.changed = (s.changed ?? 0) + 2 * count
          grow.regrown = Math.round(count / 6)
        }
        yield grow
      }
    }
    if (step % every === 0) {
      yield {
        type: 'sample', run, seq: seq++, step, time,
        layers: layers.map((layer, i) => {
          const s = state[i]
          if (rand() < 0.01) s.half *= 1.25 // the range widens now and then (metrics.widened_range)
          const sample = {
            name: layer.name, nnz: s.nnz, numel: layer.numel, sparsity: 1 - s.nnz / layer.numel, bytes: s.bytes,
            dense_bytes: layer.numel * 4, hist: { lo: -s.half, hi: s.half, counts: histogram(s) }, nonfinite: 0,
          }
          // every hundredth layer's first metric is past its warn_above
          if (metrics) sample.metrics = Object.fromEntries(metricNames.map((name, k) => [name, k === 0 && i % 100 === 0 ? 1 + rand() : 0.9 * rand()]))
          if (!exploration) return sample
          const said = { ...sample, active_ever: s.ever, absmax: s.half / 1.2, capacity: s.capacity }
          if (s.changed !== null) said.mask_changed = Math.min(s.changed, 2 * s.nnz)
          s.changed = 0
          return said
        }),
        cost_ms: 0.004 * layerCount * (0.8 + 0.4 * rand()), step_ms: 48 + 4 * rand(),
      }
    }
  }
  yield { type: 'end', run, seq: seq++, step: step - 1, time: started + (step - 1) * 0.05, status: 'finished' }
}

/** Fails loudly when the generator no longer matches schema v1 (the validator the server runs). */
export function checkSchema(records) {
  for (const record of records) {
    const result = validateRecord(record)
    if (!result.ok) throw new Error(`generated ${record.type} record (seq ${record.seq}) is invalid: field "${result.path}": ${result.message}`)
  }
  const parsed = parseNdjson(records.map((r) => JSON.stringify(r)).join('\n') + '\n')
  if (!parsed.ok) throw new Error(`generated NDJSON is invalid: ${formatNdjsonError(parsed.error)}`)
  if (parsed.records.length !== records.length) throw new Error(`parseNdjson returned ${parsed.records.length} of ${records.length} records`)
}

/** Serialized records cut into POST bodies of at most `maxRecords` records and 1 MiB, as the sender does. */
export function toBatches(lines, maxRecords) {
  const batches = []
  let current = []
  let bytes = 0
  const flush = () => {
    if (current.length) batches.push({ body: current.join('\n') + '\n', records: current.length, bytes: bytes + current.length })
    current = []
    bytes = 0
  }
  for (const line of lines) {
    if (current.length && (current.length >= maxRecords || bytes + line.length + current.length > MAX_BATCH_BYTES)) flush()
    current.push(line)
    bytes += line.length // JSON.stringify output is ASCII here
  }
  flush()
  return batches
}
