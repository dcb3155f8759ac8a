import { defineConfig } from 'tsup'
import { loadProfilerAssets } from './src/profilerAssets.js'

// The CLI as one ES module for Node.js 20+ with every dependency inside and the dashboard and Vega
// builds embedded as strings (read here, from the same packages the npm CLI reads at run time), so its
// pages and exports are the npm CLI's byte for byte. The Python wheel ships this file.
export default defineConfig({
  entry: { 'sparselab-profiler': 'src/bundle.ts' },
  outDir: 'dist-bundle',
  outExtension: () => ({ js: '.mjs' }),
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  noExternal: [/.*/],
  minify: true,
  clean: true,
  define: { SPARSELAB_PROFILER_ASSETS: JSON.stringify(loadProfilerAssets()) },
})
