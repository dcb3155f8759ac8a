/**
 * Entry of the one-file CLI (`dist-bundle/sparselab-profiler.mjs`, shipped in the Python wheel): the
 * server, the dashboard and the Vega builds in one file that `node` runs with nothing installed beside it.
 */
import { main } from './cli.js'
import type { ProfilerAssets } from './profilerAssets.js'

// Replaced at build time by the assets as text (tsup.bundle.config.ts), so nothing is read from node_modules.
declare const SPARSELAB_PROFILER_ASSETS: ProfilerAssets

main(process.argv.slice(2), { assets: SPARSELAB_PROFILER_ASSETS }).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`sparselab-profiler: ${error.message}`)
    process.exit(1)
  },
)
