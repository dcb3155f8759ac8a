// Cost of the flag rules: every rule evaluated per sample of a 1,000-layer run (the server does this on ingest),
// with the exploration, absmax and capacity fields every rule reads and two plugin metrics with limits per layer.
//   node test/bench/flags.mjs [--layers 1000] [--steps 20000]
import { parseArgs } from 'node:util'
import { FlagEvaluator } from '@sparselab-profiler/core'
import { trainingRun } from './syntheticRun.mjs'

const { values } = parseArgs({ options: { layers: { type: 'string', default: '1000' }, steps: { type: 'string', default: '20000' } } })
const evaluator = new FlagEvaluator()
const perSample = []
// streamed: the run is never held whole, as the server never holds it
for (const record of trainingRun({ run: 'bench-flags', layerCount: Number(values.layers), steps: Number(values.steps), every: 200, updateEvery: 100, seed: 7, exploration: true, metrics: 2 })) {
  const started = performance.now()
  evaluator.apply(record)
  if (record.type === 'sample') perSample.push(performance.now() - started)
}
perSample.sort((a, b) => a - b)
const at = (p) => perSample[Math.min(perSample.length - 1, Math.ceil(p * perSample.length) - 1)].toFixed(2)
console.log(`${values.layers} layers, ${perSample.length} samples: all rules per sample P50 ${at(0.5)} ms, P95 ${at(0.95)} ms; ${evaluator.flags().length} flags (the synthetic run never settles its churn and its exploration stalls late: one info each per layer; metric_0 past its limit: one warning per 100 layers)`)
