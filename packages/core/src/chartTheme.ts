/** The page's colour scheme, as `prefers-color-scheme` reports it. */
export type ColorScheme = 'light' | 'dark'

/** Okabe & Ito's palette: its colours stay apart for the common colour-vision deficiencies. */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'] as const

/** The same colours in an order for dark pages: the light-on-dark ones first (Okabe–Ito's blue is dim on black). */
const OKABE_ITO_DARK = ['#56B4E9', '#E69F00', '#009E73', '#CC79A7', '#F0E442', '#D55E00', '#0072B2', '#999999'] as const

const INK: Record<ColorScheme, { text: string; muted: string; grid: string; domain: string; category: readonly string[] }> = {
  light: { text: '#1f2328', muted: '#57606a', grid: '#d0d7de', domain: '#8c959f', category: OKABE_ITO },
  dark: { text: '#e6edf3', muted: '#9198a1', grid: '#30363d', domain: '#6e7681', category: OKABE_ITO_DARK },
}

/**
 * Vega-Lite `config` for charts drawn on a page of the given scheme: no background of their own (the page's
 * shows through, so a chart is never a white box on a dark page), text and rules in the scheme's ink,
 * categories in colour-blind-safe colours, and the plot fitted to its container's width, axes and legend
 * included, so a chart never overflows its column.
 * @example { ...spec, config: chartConfig(matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light') }
 */
export function chartConfig(scheme: ColorScheme): Record<string, unknown> {
  const ink = INK[scheme]
  const label = { labelColor: ink.muted, titleColor: ink.text, labelFontSize: 11, titleFontSize: 11, titleFontWeight: 600 }
  return {
    background: null,
    autosize: { type: 'fit-x', contains: 'padding' },
    font: 'system-ui, sans-serif',
    view: { stroke: null },
    title: { color: ink.text, subtitleColor: ink.muted, anchor: 'start', fontSize: 13, fontWeight: 600 },
    axis: { ...label, gridColor: ink.grid, domainColor: ink.domain, tickColor: ink.domain, labelFlush: true, labelOverlap: 'greedy' },
    legend: { ...label, symbolStrokeWidth: 2 },
    header: { labelColor: ink.text, titleColor: ink.text, labelFontSize: 11 },
    range: { category: [...ink.category] },
    // marks without a colour encoding take the scheme's first colour
    mark: { color: ink.category[0] },
    area: { color: ink.category[0] },
    line: { color: ink.category[0] },
    bar: { color: ink.category[0] },
    rule: { color: ink.muted },
    text: { color: ink.text },
  }
}
