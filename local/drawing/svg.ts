import dagre from '@dagrejs/dagre';
import type { DrawnEdge, DrawnNode, PipelineDrawing } from '../../shared/dag/drawing.js';

/**
 * A pipeline drawing as SVG, laid out by dagre (a layered layout, stages as clusters), drawn at its
 * natural size: text stays 12 px however large the graph, and the page scrolls (q5 and q7 included).
 * Every node and edge carries data attributes (`data-id`, `data-from`/`data-to`, `data-kind`): the
 * console fills in metrics by them and the tests check the edges by them.
 */

export interface SvgOptions {
  /** Leave a third line in each operator box and each stage for live metrics (the console). @default false */
  readonly metricsLines?: boolean;
}

const FONT_PX = 12;
/** An average glyph of 12 px sans-serif, with margin: boxes a little wide rather than text overflowing. */
const CHAR_PX = 7.2;
const LINE_PX = 16;
const PAD_X = 12;
const PAD_Y = 8;

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function drawingToSvg(drawing: PipelineDrawing, options: SvgOptions = {}): string {
  const metrics = options.metricsLines ?? false;
  const layout = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  layout.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 56, edgesep: 12, marginx: 16, marginy: 28 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of drawing.nodes) {
    const lines = linesOf(node, metrics);
    const width = Math.max(...lines.map((line) => line.length)) * CHAR_PX + 2 * PAD_X;
    layout.setNode(node.id, { width, height: lines.length * LINE_PX + 2 * PAD_Y });
  }
  for (const stage of drawing.stages) {
    layout.setNode(clusterId(stage.id), {});
    for (const id of stage.nodes) layout.setParent(id, clusterId(stage.id));
  }
  drawing.edges.forEach((edge, index) => {
    layout.setEdge(
      edge.from,
      edge.to,
      edge.label === undefined
        ? {}
        : { label: edge.label, width: edge.label.length * CHAR_PX + 8, height: LINE_PX, labelpos: 'c' },
      `e${index}`,
    );
  });
  dagre.layout(layout);
  const graph = layout.graph();
  const width = Math.ceil(graph.width ?? 0);
  const height = Math.ceil(graph.height ?? 0);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="eddy-graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="${FONT_PX}" data-pipeline="${xml(drawing.pipeline)}">`,
    `<style>${SVG_STYLE}</style>`,
    '<defs><marker id="eddy-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
  ];
  for (const stage of drawing.stages) {
    const box = centred(layout.node(clusterId(stage.id)) as Box);
    parts.push(
      `<g class="stage" data-stage="${xml(stage.id)}"><rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="8"/>` +
        `<text class="stage-title" x="${box.x + 6}" y="${box.y - 6}">λ ${xml(stage.id)}${stage.stateful ? ' (stateful)' : ''}</text>` +
        (metrics
          ? `<text class="metrics stage-metrics" data-metrics-for="${xml(stage.id)}" x="${box.x + 6}" y="${box.y + box.height + 14}"></text>`
          : '') +
        '</g>',
    );
  }
  drawing.edges.forEach((edge, index) => {
    const laid = layout.edge({ v: edge.from, w: edge.to, name: `e${index}` }) as {
      points: { x: number; y: number }[];
      x?: number;
      y?: number;
    };
    parts.push(edgeSvg(edge, laid));
  });
  for (const node of drawing.nodes) {
    parts.push(nodeSvg(node, centred(layout.node(node.id) as Box), metrics));
  }
  parts.push('</svg>');
  return parts.join('\n');
}

const SVG_STYLE = [
  '.stage rect{fill:#f4f7fb;stroke:#7a8ca6;stroke-dasharray:4 3}',
  '.stage-title{font-weight:600;fill:#34465e}',
  '.node rect{stroke:#555;stroke-width:1}',
  '.node-operator rect{fill:#fff}',
  '.node-stream rect{fill:#e8f1e4}',
  '.node.role-side-output rect{fill:#fff4d6}',
  '.node.role-dead-letter rect,.node-queue rect{fill:#fde2e0}',
  '.node-table rect{fill:#e9e4f5}',
  '.title{font-weight:600}',
  '.detail{fill:#555}',
  '.metrics{fill:#0b5cad;font-variant-numeric:tabular-nums}',
  '.edge path{fill:none;stroke:#555;stroke-width:1.2}',
  '.edge-dead-letter path{stroke:#c0392b;stroke-dasharray:3 3}',
  '.edge-late path,.edge-side-output path{stroke:#b7791f;stroke-dasharray:5 3}',
  '.edge-lookup path,.edge-table path{stroke:#6b46c1}',
  '.edge-join path{stroke:#2b6cb0;stroke-width:1.8}',
  '.edge text{fill:#444;font-size:11px}',
].join('');

function clusterId(stage: string): string {
  return `stage:${stage}`;
}

/** dagre gives centres; SVG wants corners. */
function centred(box: Box): Box {
  return { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height };
}

function linesOf(node: DrawnNode, metrics: boolean): string[] {
  const lines = [node.title, ...(node.detail === undefined ? [] : [node.detail])];
  // Room for "in 12.3k · out 12.3k · 1.2k/s"-like figures.
  if (metrics && (node.kind === 'operator' || node.kind === 'stream')) lines.push('x'.repeat(30));
  return lines;
}

function nodeSvg(node: DrawnNode, box: Box, metrics: boolean): string {
  const classes = ['node', `node-${node.kind}`, ...(node.role === undefined ? [] : [`role-${node.role}`])];
  const attributes = [
    `class="${classes.join(' ')}"`,
    `data-id="${xml(node.id)}"`,
    ...(node.operator === undefined ? [] : [`data-operator="${xml(node.operator)}"`]),
    ...(node.stage === undefined ? [] : [`data-stage="${xml(node.stage)}"`]),
  ];
  const rx = node.kind === 'operator' ? 4 : 12;
  const text = (line: number, cls: string, content: string, extra = '') =>
    `<text class="${cls}" x="${box.x + PAD_X}" y="${box.y + PAD_Y + LINE_PX * line + FONT_PX}"${extra}>${xml(content)}</text>`;
  const lines = [text(0, 'title', node.title)];
  if (node.detail !== undefined) lines.push(text(1, 'detail', node.detail));
  if (metrics && (node.kind === 'operator' || node.kind === 'stream')) {
    lines.push(text(node.detail === undefined ? 1 : 2, 'metrics', '', ` data-metrics-for="${xml(node.id)}"`));
  }
  return (
    `<g ${attributes.join(' ')}><title>${xml(node.id)}</title>` +
    `<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="${rx}"/>${lines.join('')}</g>`
  );
}

function edgeSvg(edge: DrawnEdge, laid: { points: { x: number; y: number }[]; x?: number; y?: number }): string {
  const path = laid.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.x)},${round(p.y)}`).join(' ');
  const label =
    edge.label === undefined || laid.x === undefined || laid.y === undefined
      ? ''
      : `<text x="${round(laid.x)}" y="${round(laid.y + 4)}" text-anchor="middle">${xml(edge.label)}</text>`;
  return (
    `<g class="edge edge-${edge.kind}" data-from="${xml(edge.from)}" data-to="${xml(edge.to)}" data-kind="${edge.kind}">` +
    `<path d="${path}" marker-end="url(#eddy-arrow)"/>${label}</g>`
  );
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Text and attribute values: names are user input. */
export function xml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
