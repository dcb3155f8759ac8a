import { defineConfig, type Options } from 'tsup'

// A browser build with preact and vega inside, minified, for pages without a bundler.
const selfContained: Options = {
  platform: 'browser',
  minify: true,
  noExternal: [/.*/],
  esbuildOptions(options) {
    options.jsx = 'automatic'
    options.jsxImportSource = 'preact'
  },
}

export default defineConfig([
  {
    // The library: the framework and charting stack stay the host's dependencies.
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    clean: true,
    external: ['preact', 'vega-embed', 'vega', 'vega-lite', 'eventsource-parser'],
  },
  // mount() as one ES module; it defines no globals. Its types stand alone: they name no preact type.
  { ...selfContained, entry: { embed: 'src/mount.tsx' }, format: ['esm'], dts: true },
  // The page the server serves.
  { ...selfContained, entry: { browser: 'src/browser.ts' }, format: ['iife'] },
])
