/** The minified Vega builds an offline report inlines, as source text (read by runlog's `loadVegaLibraries`). */
export interface VegaLibraries {
  vega: string
  vegaLite: string
  vegaEmbed: string
}
