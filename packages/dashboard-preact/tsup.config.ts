import { defineConfig } from 'tsup'

export default defineConfig([
  {
    // The library: the framework and charting stack stay the host's dependencies.
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    clean: true,
    external: ['preact', 'vega-embed', 'vega', 'vega-lite', 'eventsource-parser'],
  },
  {
    // For pages without a bundler: mount() as one ES module with preact and vega inside; no globals.
    entry: { embed: 'src/mount.tsx' },
    format: ['esm'],
    platform: 'browser',
    minify: true,
    noExternal: [/.*/],
    esbuildOptions(options) {
      options.jsx = 'automatic'
      options.jsxImportSource = 'preact'
    },
  },
  {
    // The page the server serves: everything in one minified script.
    entry: { browser: 'src/browser.ts' },
    format: ['iife'],
    platform: 'browser',
    minify: true,
    noExternal: [/.*/],
    esbuildOptions(options) {
      options.jsx = 'automatic'
      options.jsxImportSource = 'preact'
    },
  },
])
