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
.slp-dashboard .slp-controls{display:flex;gap:24px;align-items:center;flex-wrap:wrap;margin:8px 0}
.slp-dashboard .slp-dialog{position:fixed;inset:10% auto auto 50%;transform:translateX(-50%);max-width:560px;width:90%;z-index:10;border:1px solid #8888;border-radius:8px;background:Canvas;color:CanvasText;box-shadow:0 8px 32px #0004}
.slp-dashboard .slp-dialog fieldset{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;border:0;padding:0;margin:12px 0}
.slp-dashboard .slp-dialog .slp-field input{width:100%;box-sizing:border-box}
.slp-dashboard .slp-actions{display:flex;gap:8px;justify-content:flex-end}
.slp-dashboard button[aria-pressed="true"]{font-weight:600}
.slp-dashboard .slp-table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:8px 0}
.slp-dashboard .slp-table th,.slp-dashboard .slp-table td{padding:2px 10px;text-align:right;border-bottom:1px solid #8884}
.slp-dashboard .slp-table th:first-child,.slp-dashboard .slp-table td:first-child{text-align:left}
.slp-dashboard .slp-table tr[aria-selected="true"]{background:#8882}
.slp-dashboard .slp-changes td,.slp-dashboard .slp-changes th{text-align:left}
.slp-dashboard .slp-table tbody tr{cursor:pointer}
.slp-dashboard .slp-table-scroll{max-height:320px;overflow-y:auto;display:inline-block}
.slp-dashboard .slp-table tbody tr{height:24px}
.slp-dashboard .slp-heatmap canvas{display:block;image-rendering:pixelated}
.slp-dashboard .slp-heatmap-axis{display:flex;justify-content:space-between;align-items:center;gap:12px;font-size:.75rem;opacity:.8}
.slp-dashboard .slp-heatmap-legend{flex:0 0 160px;height:8px;background:linear-gradient(90deg,#440154,#3b528b,#21918c,#5ec962,#fde725)}
.slp-dashboard .slp-heatmap-hover{display:block;font-size:.8rem;min-height:1.2em}
`
