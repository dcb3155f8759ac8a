// Prints, as JSON, what the built core computes as a run log's exploration (ITOP and mask distance): from the
// pure `explorationRows` over every sample, from `runOverview` (the dashboard's view) and from the report's
// "itop" and "mask-distance" charts. Usage: node core_exploration.mjs <records.ndjson> <core dist/index.js>
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const [log, dist] = process.argv.slice(2)
const core = await import(pathToFileURL(dist).href)
const parsed = core.parseNdjson(readFileSync(log, 'utf8'))
if (!parsed.ok) throw new Error(core.formatNdjsonError(parsed.error))
const store = new core.RunStore()
store.restore(parsed.records)
const snapshot = store.snapshot(parsed.records[0].run)
const report = core.buildReport(snapshot)
// a chart's rows are its spec's dataset named by its data
const chart = (id) => {
  const spec = report.charts.find((c) => c.id === id)?.spec
  return spec ? spec.datasets[spec.data.name] : null
}
process.stdout.write(JSON.stringify({
  model: core.MODEL_CHURN,
  rows: core.explorationRows(snapshot.samples),
  overview: core.runOverview(snapshot, 100_000).exploration,
  itopChart: chart('itop'),
  maskDistanceChart: chart('mask-distance'),
}))
