import { xml } from '../drawing/svg.js';

/** The console's HTML: the drawing and the tables are filled in by the page script (client/app.ts). */
export function consolePage(pipeline: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${xml(pipeline)}: Eddy console</title>
<style>
body{margin:16px;font-family:system-ui,sans-serif;color:#222;font-size:13px}
h1{font-size:18px;margin:0}
h2{font-size:15px;margin:20px 0 6px}
h3{font-size:13px;margin:8px 0 4px}
.meta{color:#555;margin:4px 0 12px}
#graph{overflow:auto;border:1px solid #ddd;padding:8px;max-height:70vh}
table{border-collapse:collapse}
th,td{border-bottom:1px solid #e5e5e5;padding:3px 10px;text-align:left}
th{background:#f4f4f4;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:ui-monospace,monospace;font-size:12px;color:#555}
.stage-row td{font-weight:600}
.recent{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
.recent ul{margin:0;padding-left:18px;max-height:320px;overflow:auto}
.recent li{margin-bottom:6px;overflow-wrap:anywhere}
</style>
</head>
<body>
<h1>${xml(pipeline)}</h1>
<div id="graph"></div>
<div id="app"></div>
<script type="module" src="console.js"></script>
</body>
</html>
`;
}
