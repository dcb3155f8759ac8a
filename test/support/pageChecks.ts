/**
 * The page checks the browser tests share, for the dashboard and the exported report alike: (a) horizontal
 * overflow and chart text cut off at a chart's edge, (b) each chart's background and text contrast in the
 * page's scheme, (c) marks in every chart, and `checkAll` to assert them with (d) the page's console problems.
 * Each check runs in the page (`page.evaluate(overflowFindings, root)`) and returns findings, [] when all is well.
 */
import type { ExpectStatic } from 'vitest'

/**
 * (a) Page-level horizontal scroll, the outermost elements in `root` whose visible right edge passes the viewport,
 * and chart text cut off at its svg's edge.
 */
export function overflowFindings(rootSelector: string): string[] {
  const html = document.documentElement
  const limit = html.clientWidth
  const findings: string[] = []
  if (html.scrollWidth > limit) findings.push(`the page scrolls sideways: scrollWidth ${html.scrollWidth.toLocaleString('en-US')} > clientWidth ${limit.toLocaleString('en-US')}`)
  const root = document.querySelector(rootSelector)
  if (!root) return [...findings, `no ${rootSelector} on the page`]
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} px`
  const describe = (el: Element): string => {
    const own = (e: Element) => {
      const classes = [...e.classList].filter((c) => !/^(role|mark)-/.test(c) || e.tagName.toLowerCase() === 'g').slice(0, 2)
      return e.tagName.toLowerCase() + classes.map((c) => `.${c}`).join('')
    }
    const anchor = el.closest('[data-chart],[id]')
    const anchorText = anchor
      ? anchor.hasAttribute('data-chart')
        ? `[data-chart="${anchor.getAttribute('data-chart')}"]`
        : `#${anchor.id}`
      : ''
    if (anchor === el) return anchorText
    const chain: string[] = []
    for (let e: Element | null = el; e && e !== anchor && e !== root.parentElement && chain.length < 3; e = e.parentElement) chain.unshift(own(e))
    return [anchorText, chain.join(' > ')].filter(Boolean).join(' ')
  }
  // the right edge an element shows: clipped by every ancestor that does not let overflow show
  const visibleRight = (el: Element): number => {
    let right = el.getBoundingClientRect().right
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (a === html || a === document.body) break
      if (getComputedStyle(a).overflowX !== 'visible') right = Math.min(right, a.getBoundingClientRect().right)
    }
    return right
  }
  const offenders = new Set<Element>()
  for (const el of root.querySelectorAll('*')) {
    // what is inside an svg cannot show outside it (an inline svg clips its content): the svg itself is measured
    if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue
    const box = el.getBoundingClientRect()
    if (box.width === 0 && box.height === 0) continue
    if (visibleRight(el) > limit + 0.5) offenders.add(el)
  }
  for (const el of offenders) {
    if (el.parentElement && offenders.has(el.parentElement)) continue // its parent is reported
    const box = el.getBoundingClientRect()
    findings.push(`${describe(el)} is ${fmt(box.width)} wide at ${fmt(limit)} (left ${fmt(box.left)}, right edge ${fmt(box.right)})`)
  }
  // Text that runs past its chart's edge is cut off there (an inline svg clips its content): a title or label
  // wider than the chart, which a page-level check cannot see.
  for (const svg of root.querySelectorAll('svg')) {
    const frame = svg.getBoundingClientRect()
    for (const text of svg.querySelectorAll('text')) {
      const content = text.textContent?.trim()
      const style = getComputedStyle(text)
      if (!content || style.visibility === 'hidden' || Number(style.opacity) === 0 || Number(style.fillOpacity) === 0) continue
      const box = text.getBoundingClientRect()
      if (box.width === 0) continue
      const past = box.right > frame.right + 1 ? 'right' : box.left < frame.left - 1 ? 'left' : box.bottom > frame.bottom + 1 ? 'bottom' : box.top < frame.top - 1 ? 'top' : null
      if (!past) continue
      const [edge, at] = past === 'right' || past === 'left' ? [past === 'right' ? frame.right : frame.left, past === 'right' ? box.right : box.left] : [past === 'bottom' ? frame.bottom : frame.top, past === 'bottom' ? box.bottom : box.top]
      findings.push(`${describe(svg)} text "${content.slice(0, 60)}" is cut off at the svg's ${past} edge (text reaches ${fmt(at)}, the svg ends at ${fmt(edge)})`)
    }
  }
  return findings
}

/**
 * (b) and (c) for every Vega chart (an `svg` inside each element matching `chartSelector`), and (c) for a canvas
 * heatmap. Lightness is CIE L* / 100 (perceptual, 0 black … 1 white): a background is "light" at ≥ 0.5, and
 * text must differ from its background by more than 0.4.
 */
export function chartFindings({ chartSelector, scheme }: { chartSelector: string; scheme: 'light' | 'dark' }): string[] {
  const findings: string[] = []
  type Rgba = [number, number, number, number]
  const parse = (color: string): Rgba | null => {
    const m = /^rgba?\(([\d.]+),?\s*([\d.]+),?\s*([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\)$/.exec(color.trim())
    if (!m) return null
    const alpha = m[4] === undefined ? 1 : m[4].endsWith('%') ? Number(m[4].slice(0, -1)) / 100 : Number(m[4])
    return [Number(m[1]), Number(m[2]), Number(m[3]), alpha]
  }
  const over = (top: Rgba, below: Rgba): Rgba => {
    const a = top[3] + below[3] * (1 - top[3])
    if (a === 0) return [0, 0, 0, 0]
    return [0, 1, 2].map((k) => (top[k]! * top[3] + below[k]! * below[3] * (1 - top[3])) / a).concat(a) as Rgba
  }
  const lightness = ([r, g, b]: Rgba) => {
    const lin = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    const y = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return (y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y) / 100
  }
  const hex = ([r, g, b]: Rgba) => `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`
  // What shows behind `el`: the backgrounds of its ancestors composited down to the canvas (the page's
  // `Canvas` colour in its colour scheme, which is what an unpainted root shows).
  const behind = (el: Element): Rgba => {
    const layers: Rgba[] = []
    for (let a: Element | null = el; a; a = a.parentElement) {
      const color = parse(getComputedStyle(a).backgroundColor)
      if (color && color[3] > 0) layers.push(color)
      if (color && color[3] >= 1) break
    }
    const probe = document.createElement('div')
    probe.style.cssText = 'background:Canvas;position:absolute;width:0;height:0'
    document.documentElement.appendChild(probe)
    let base = parse(getComputedStyle(probe).backgroundColor) ?? [255, 255, 255, 1]
    probe.remove()
    for (const layer of layers.reverse()) base = over(layer, base)
    return base
  }
  const charts = [...document.querySelectorAll(chartSelector)]
  if (charts.length === 0) findings.push(`no chart matches ${chartSelector}`)
  for (const chart of charts) {
    const name = chart.hasAttribute('data-chart') ? `[data-chart="${chart.getAttribute('data-chart')}"]` : `#${chart.id}`
    if (chart instanceof HTMLCanvasElement) {
      const rows = Number(chart.getAttribute('data-rows'))
      if (!(rows > 0)) findings.push(`${name} canvas has data-rows ${chart.getAttribute('data-rows')}`)
      const { width, height } = chart
      const data = width && height ? chart.getContext('2d')!.getImageData(0, 0, width, height).data : new Uint8ClampedArray()
      let painted = 0
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++
      if (painted === 0) findings.push(`${name} canvas (${width} × ${height}) has no painted pixel`)
      continue
    }
    const svg = chart.querySelector('svg')
    if (!svg) {
      const text = chart.textContent?.trim()
      findings.push(text ? `${name} draws no chart, only the text "${text.slice(0, 80)}"` : `${name} has no svg`)
      continue
    }
    // (b) background: Vega's own (a rect.background, or the svg's background-color, which Vega 6 sets when the
    // spec configures one), composited over what the page shows behind the chart
    const rect = svg.querySelector('rect.background')
    const rectFill = rect ? parse(getComputedStyle(rect).fill) : null
    const svgFill = parse(getComputedStyle(svg).backgroundColor)
    const underlying = behind(svg.parentElement!)
    let background = underlying
    let source = 'page background behind the chart'
    if (svgFill && svgFill[3] > 0) [background, source] = [over(svgFill, background), 'svg background-color']
    if (rectFill && rectFill[3] > 0) [background, source] = [over(rectFill, background), 'rect.background fill']
    const bgL = lightness(background)
    if (scheme === 'dark' && bgL >= 0.5) findings.push(`${name}: ${source} is ${hex(background)} (lightness ${bgL.toFixed(2)}) in dark mode`)
    if (scheme === 'light' && bgL < 0.5) findings.push(`${name}: ${source} is ${hex(background)} (lightness ${bgL.toFixed(2)}) in light mode`)
    // one finding per unreadable colour, with how many texts use it and one of them
    const poor = new Map<string, { count: number; example: string; lightness: number }>()
    for (const text of svg.querySelectorAll('text')) {
      const content = text.textContent?.trim()
      const style = getComputedStyle(text)
      if (!content || text.getBBox().width === 0 || style.visibility === 'hidden' || Number(style.opacity) === 0 || Number(style.fillOpacity) === 0) continue
      const fill = parse(style.fill)
      if (!fill) continue
      const textL = lightness(over(fill, background))
      if (Math.abs(textL - bgL) > 0.4) continue
      const key = hex(fill)
      const seen = poor.get(key) ?? { count: 0, example: content.slice(0, 40), lightness: textL }
      seen.count++
      poor.set(key, seen)
    }
    for (const [color, { count, example, lightness: textL }] of poor) {
      findings.push(
        `${name}: ${count} svg text${count === 1 ? '' : 's'} (e.g. "${example}") filled ${color} (lightness ${textL.toFixed(2)}) on ${hex(background)} (lightness ${bgL.toFixed(2)}): difference ${Math.abs(textL - bgL).toFixed(2)} ≤ 0.4`,
      )
    }
    // (c) marks: data marks (role-mark groups) with a visible extent
    let marks = 0
    let empty = 0
    for (const group of svg.querySelectorAll('g[class*="mark-"].role-mark')) {
      const line = /\bmark-(line|rule|trail)\b/.test(group.getAttribute('class') ?? '')
      for (const item of group.querySelectorAll(':scope > path, :scope > rect, :scope > line')) {
        const box = (item as SVGGraphicsElement).getBBox()
        if (line ? box.width > 0 || box.height > 0 : box.width > 0 && box.height > 0) marks++
        else empty++
        if (marks) break
      }
      if (marks) break
    }
    if (marks === 0) findings.push(`${name}: no mark with a non-zero size (${empty} empty mark element${empty === 1 ? '' : 's'} in g.mark-*.role-mark)`)
  }
  return findings
}

/** Findings as message lines: at most 20, then how many more (the assertion's diff lists them all). */
function lines(findings: string[]): string {
  const shown = findings.slice(0, 20)
  if (findings.length > shown.length) shown.push(`… and ${findings.length - shown.length} more`)
  return shown.map((line) => `\n  ${line}`).join('')
}

export function checkAll(expect: ExpectStatic, checks: { overflow: string[]; charts: string[]; problems: string[] }, where: string) {
  expect.soft(checks.overflow, `(a) horizontal overflow and cut-off chart text on the ${where}:${lines(checks.overflow)}`).toEqual([])
  expect.soft(checks.charts, `(b, c) chart theme and marks on the ${where}:${lines(checks.charts)}`).toEqual([])
  expect.soft(checks.problems, `(d) console warnings/errors and page errors on the ${where}:${lines(checks.problems)}`).toEqual([])
}

