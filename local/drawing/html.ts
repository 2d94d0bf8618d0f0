import type { PipelineDrawing } from '../../shared/dag/drawing.js';
import { drawingToSvg, xml } from './svg.js';

/** `eddy graph --format html`: one self-contained page (the SVG inline, no script, nothing fetched). */
export function drawingToHtml(drawing: PipelineDrawing): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${xml(drawing.pipeline)}: Eddy pipeline graph</title>
<style>
body{margin:16px;font-family:system-ui,sans-serif;color:#222}
h1{font-size:18px;margin:0 0 4px}
p{margin:0 0 12px;color:#555;font-size:13px}
.graph{overflow:auto;border:1px solid #ddd;padding:8px}
</style>
</head>
<body>
<h1>${xml(drawing.pipeline)}</h1>
<p>${drawing.stages.length} stages (λ, dashed boxes) · streams (green) · side outputs (yellow) · dead letters (red) · tables (violet). Solid edges carry records; dotted edges: late records, side outputs, dead letters, lookups.</p>
<div class="graph">
${drawingToSvg(drawing)}
</div>
</body>
</html>
`;
}
