// Every rule is scoped under .slp-dashboard so an embedding page keeps its own styles.
export const DASHBOARD_CSS = `
.slp-dashboard{font-family:system-ui,sans-serif;color:CanvasText;background:Canvas;color-scheme:light dark;padding:12px 16px}
.slp-dashboard h1{font-size:1.2rem;margin:0}
.slp-dashboard h2{font-size:1rem;margin:16px 0 8px}
.slp-dashboard .slp-bar{display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.slp-dashboard .slp-bar button{margin-left:auto}
.slp-dashboard .slp-stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:8px 24px;margin:12px 0}
.slp-dashboard .slp-stats dt{font-size:.75rem;opacity:.7}
.slp-dashboard .slp-stats dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.slp-dashboard .slp-chart{width:100%;min-height:120px}
.slp-dashboard .slp-pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
.slp-dashboard .slp-status{font-size:.8rem;padding:2px 8px;border-radius:10px;border:1px solid currentColor}
.slp-dashboard .slp-error{color:#d62728}
.slp-dashboard .slp-empty{opacity:.7}
`
