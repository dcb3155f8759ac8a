import { createRequire } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { VegaLibraries } from '@sparselab-profiler/core'

const require = createRequire(import.meta.url)
let cached: VegaLibraries | undefined

// The packages' export maps hide their minified builds (and package.json), so resolve the entry
// point and walk up to the package root.
function readBuild(pkg: string, file: string): string {
  let dir = dirname(require.resolve(pkg))
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`cannot find the package folder of ${pkg}`)
    dir = dirname(dir)
  }
  return readFileSync(join(dir, 'build', file), 'utf8')
}

/**
 * Reads vega, vega-lite and vega-embed's minified browser builds once per process.
 * @example renderReportHtml(report, { libraries: loadVegaLibraries() })
 */
export function loadVegaLibraries(): VegaLibraries {
  cached ??= {
    vega: readBuild('vega', 'vega.min.js'),
    vegaLite: readBuild('vega-lite', 'vega-lite.min.js'),
    vegaEmbed: readBuild('vega-embed', 'vega-embed.min.js'),
  }
  return cached
}
