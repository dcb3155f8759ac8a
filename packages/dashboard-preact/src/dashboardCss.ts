// Every rule is scoped under .slp-dashboard so an embedding page keeps its own styles; the first rule resets what
// an embedding page's element rules (a coloured h1, a button theme) would otherwise impose on the dashboard.
export const DASHBOARD_CSS = `
.slp-dashboard :where(h1,h2,h3,p,dl,dt,dd,table,th,td,pre,code,figure,section,header,label,details,summary,button,input,select){all:revert}
.slp-dashboard{font-family:system-ui,sans-serif;font-size:14px;line-height:1.4;color:CanvasText;background:Canvas;color-scheme:light dark;padding:12px 16px;overflow-wrap:anywhere;--slp-muted:color-mix(in srgb,CanvasText 62%,Canvas)}
.slp-dashboard h1{font-size:1.2rem;margin:0;color:inherit}
.slp-dashboard h2{font-size:1rem;margin:16px 0 8px;color:inherit}
.slp-dashboard .slp-bar{display:flex;gap:8px 16px;align-items:center;flex-wrap:wrap}
.slp-dashboard .slp-bar-actions{display:flex;gap:8px;margin-left:auto}
.slp-dashboard .slp-run-picker select{max-width:min(420px,70vw)}
.slp-dashboard .slp-status-live{color:#1a7f37}
.slp-dashboard .slp-status-paused{color:#9a6700}
.slp-dashboard .slp-status-unreachable{color:#cf222e}
@media (prefers-color-scheme:dark){.slp-dashboard .slp-status-live{color:#3fb950}.slp-dashboard .slp-status-paused{color:#d29922}.slp-dashboard .slp-status-unreachable{color:#f85149}}
.slp-dashboard .slp-note,.slp-dashboard .slp-hint{font-size:.75rem;font-weight:400;color:var(--slp-muted)}
.slp-dashboard .slp-section-head{display:flex;gap:8px 16px;align-items:baseline;flex-wrap:wrap}
.slp-dashboard .slp-section-head h2{margin-right:auto}
.slp-dashboard .slp-zoom{margin:8px 0;font-size:.85rem}
.slp-dashboard .slp-flags ul{list-style:none;padding:0;margin:0;display:grid;gap:6px;max-height:320px;overflow-y:auto}
.slp-dashboard .slp-flag{border-left:4px solid #8888;padding:4px 10px;background:color-mix(in srgb,CanvasText 4%,Canvas);font-size:.85rem}
.slp-dashboard .slp-flag p{margin:2px 0}
.slp-dashboard .slp-flag button{font-size:.75rem;padding:0 6px}
.slp-dashboard .slp-flag-severity{text-transform:uppercase;font-size:.7rem;font-weight:700;letter-spacing:.04em}
.slp-dashboard .slp-flag-critical{border-color:#D55E00}.slp-dashboard .slp-flag-warning{border-color:#E69F00}.slp-dashboard .slp-flag-info{border-color:#56B4E9}
.slp-dashboard .slp-flag-count{font-size:.8rem;padding:2px 8px;border-radius:10px;border:1px solid;text-decoration:none;color:inherit}
.slp-dashboard a{color:#0072B2}
@media (prefers-color-scheme:dark){.slp-dashboard a{color:#56B4E9}}
.slp-dashboard .slp-figure{position:relative;margin:0;min-width:0}
.slp-dashboard .slp-downloads{position:absolute;top:0;right:0;display:flex;gap:4px;opacity:0;transition:opacity .15s}
.slp-dashboard .slp-figure:hover .slp-downloads,.slp-dashboard .slp-downloads:focus-within{opacity:1}
.slp-dashboard .slp-downloads button{font-size:.7rem;padding:1px 6px}
.slp-dashboard .slp-empty-state{max-width:720px;margin:32px 0}
.slp-dashboard .slp-empty-state pre{background:color-mix(in srgb,CanvasText 6%,Canvas);padding:12px;border-radius:6px;overflow-x:auto;font-size:.8rem}
.slp-dashboard .slp-stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:8px 24px;margin:12px 0}
.slp-dashboard .slp-stats dt{font-size:.75rem;color:var(--slp-muted)}
.slp-dashboard .slp-stats dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.slp-dashboard .slp-chart{width:100%;min-height:120px;min-width:0}
.slp-dashboard .slp-chart-empty{box-sizing:border-box;min-height:0;padding:24px 12px;margin:0;border:1px dashed #8886;border-radius:6px;color:var(--slp-muted);font-size:.85rem}
.slp-dashboard .slp-pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(340px,100%),1fr));gap:16px 24px}
.slp-dashboard .slp-pair>*{min-width:0}
.slp-dashboard .slp-pair-wide{grid-template-columns:repeat(auto-fit,minmax(min(440px,100%),1fr))}
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
.slp-dashboard .slp-table-scroll{max-height:320px;overflow:auto;max-width:100%}
.slp-dashboard .slp-table tbody tr{height:24px}
.slp-dashboard .slp-heatmap{min-width:0;max-width:100%;overflow-x:clip}
.slp-dashboard .slp-heatmap-plot{position:relative;width:100%}
.slp-dashboard .slp-heatmap-plot canvas{position:absolute;display:block}
.slp-dashboard .slp-heatmap-plot canvas[data-chart]{image-rendering:pixelated}
.slp-dashboard .slp-heatmap-overlay{left:0;top:0;pointer-events:none}
.slp-dashboard .slp-heatmap-key{display:flex;align-items:flex-start;flex-wrap:wrap;gap:4px 10px;font-size:.75rem;line-height:16px;margin:0 0 2px;box-sizing:border-box}
.slp-dashboard .slp-heatmap-key-title{font-weight:600}
.slp-dashboard .slp-heatmap-scale{display:inline-flex;flex-direction:column;width:140px;padding-top:3px}
.slp-dashboard .slp-heatmap-legend{display:block;height:10px;border-radius:2px;background:linear-gradient(90deg,#440154,#3b528b,#21918c,#5ec962,#fde725)}
.slp-dashboard .slp-heatmap-scale-labels{display:flex;justify-content:space-between;opacity:.8;font-variant-numeric:tabular-nums}
.slp-dashboard .slp-heatmap-key-note{margin-left:auto;opacity:.7}
.slp-dashboard .slp-heatmap-download{font-size:.7rem;padding:0 6px}
.slp-dashboard .slp-heatmap-hover{display:block;font-size:.8rem;min-height:1.2em;overflow-wrap:anywhere}
.slp-dashboard .slp-compare-picker{position:relative}
.slp-dashboard .slp-compare-picker>summary{cursor:pointer;padding:1px 8px;border:1px solid #8888;border-radius:4px;font-size:.85rem}
.slp-dashboard .slp-compare-picker[open]>summary{background:color-mix(in srgb,CanvasText 8%,Canvas)}
.slp-dashboard .slp-compare-menu{position:absolute;z-index:5;left:0;top:calc(100% + 4px);width:max-content;max-width:min(460px,calc(100vw - 48px));box-sizing:border-box;background:Canvas;color:CanvasText;border:1px solid #8888;border-radius:6px;padding:8px 12px;box-shadow:0 4px 16px #0004}
.slp-dashboard .slp-compare-menu p{margin:0 0 4px}
.slp-dashboard .slp-compare-menu ul{list-style:none;margin:4px 0 8px;padding:0;max-height:320px;overflow-y:auto}
.slp-dashboard .slp-compare-menu li{padding:2px 0}
.slp-dashboard .slp-align{display:flex;gap:4px 12px;align-items:center;flex-wrap:wrap;font-size:.85rem}
.slp-dashboard .slp-align>span{color:var(--slp-muted)}
.slp-dashboard .slp-table-wrap{max-width:100%;overflow-x:auto}
.slp-dashboard .slp-compare-table,.slp-dashboard .slp-compare-layer{width:100%;table-layout:fixed}
.slp-dashboard .slp-compare-table :is(th,td),.slp-dashboard .slp-compare-layer :is(th,td){text-align:left;vertical-align:top;padding:3px 10px}
.slp-dashboard .slp-compare-table tbody tr,.slp-dashboard .slp-compare-layer tbody tr{cursor:auto;height:auto}
.slp-dashboard .slp-compare-table thead th{width:auto;border-bottom:2px solid #8886}
.slp-dashboard .slp-compare-table thead th:first-child{width:10em}
.slp-dashboard .slp-compare-table tbody th{font-weight:400;color:var(--slp-muted)}
.slp-dashboard .slp-compare-table tr.slp-differs{background:color-mix(in srgb,#E69F00 22%,Canvas)}
.slp-dashboard .slp-compare-table tr.slp-differs :is(th,td){color:CanvasText;font-weight:600}
.slp-dashboard .slp-differs-mark{color:#A85300}
@media (prefers-color-scheme:dark){.slp-dashboard .slp-differs-mark{color:#F5C04A}}
.slp-dashboard .slp-run-key{display:inline-flex;align-items:center;gap:4px;white-space:nowrap;vertical-align:middle}
.slp-dashboard .slp-run-id{display:block}
.slp-dashboard .slp-only-in{margin:8px 0;font-size:.85rem}
.slp-dashboard .slp-only-in ul{margin:4px 0;padding-left:0;list-style:none}
.slp-dashboard .slp-layer-list{font-family:ui-monospace,monospace;font-size:.8rem}
.slp-dashboard .slp-compare section>*+*{margin-top:12px}
.slp-dashboard .slp-difference-map figcaption{margin:0 0 4px;font-size:.85rem}
`
