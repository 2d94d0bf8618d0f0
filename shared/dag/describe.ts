import { type DrawnEdgeKind, type DrawnNode, drawPipeline, type PipelineDrawing } from './drawing.js';
import type { PipelineGraph } from './pipeline-graph.js';
import type { PipelinePlan } from './plan-types.js';

export interface PipelineDescription {
  readonly pipeline: string;
  readonly nodes: readonly {
    readonly name: string;
    readonly kind: string;
    readonly parent?: string;
    readonly stream?: string;
  }[];
  readonly plan: PipelinePlan;
}

/** The DAG without the user's functions: what `eddy graph --json` prints and what tooling may store. */
export function describePipeline(graph: PipelineGraph, plan: PipelinePlan): PipelineDescription {
  return {
    pipeline: graph.name,
    nodes: graph.nodes().map((node) => ({
      name: node.name,
      kind: node.kind,
      ...(node.parent !== undefined && { parent: node.parent }),
      ...('stream' in node && { stream: node.stream }),
    })),
    plan,
  };
}

/**
 * The DAG as a Mermaid flowchart: one subgraph per stage (Lambda) holding its operators, streams and
 * tables as boxes between them, and every edge of {@link drawPipeline}: joins, side outputs, tables
 * and dead letters dotted.
 */
export function toMermaid(graph: PipelineGraph, plan: PipelinePlan): string {
  return drawingToMermaid(drawPipeline(graph, plan));
}

/**
 * Mermaid's id of each drawn node: `stream_<name>`, `table_<name>`, `queue_<name>`, `op_<name>` with
 * only [A-Za-z0-9_], and a `_<n>` suffix where two names would meet (`a-b` and `a_b`).
 */
export function mermaidIds(drawing: PipelineDrawing): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>(drawing.stages.map((stage) => stage.id.replace(/[^a-zA-Z0-9_]/g, '_')));
  for (const node of drawing.nodes) {
    const base = node.id.replace(/[^a-zA-Z0-9_]/g, '_');
    let id = base;
    for (let n = 2; taken.has(id); n += 1) id = `${base}_${n}`;
    taken.add(id);
    ids.set(node.id, id);
  }
  return ids;
}

const DOTTED_EDGES: ReadonlySet<DrawnEdgeKind> = new Set(['dead-letter', 'lookup', 'late', 'side-output']);

export function drawingToMermaid(drawing: PipelineDrawing): string {
  const text = (value: string) => value.replace(/"/g, '#quot;');
  const box = (node: DrawnNode) => {
    const label = text(node.detail === undefined ? node.title : `${node.title}<br/>${node.detail}`);
    const id = mermaidId(node.id);
    if (node.kind === 'operator') return `${id}["${label}"]`;
    if (node.kind === 'queue') return `${id}[/"${label}"/]`;
    return `${id}[("${label}")]`;
  };
  const ids = mermaidIds(drawing);
  const mermaidId = (drawnId: string) => ids.get(drawnId) ?? drawnId;
  const lines = ['flowchart LR'];
  const inStage = new Set(drawing.stages.flatMap((stage) => stage.nodes));
  for (const node of drawing.nodes) if (!inStage.has(node.id)) lines.push(`  ${box(node)}`);
  const byId = new Map(drawing.nodes.map((node) => [node.id, node]));
  for (const stage of drawing.stages) {
    lines.push(
      `  subgraph ${stage.id.replace(/[^a-zA-Z0-9_]/g, '_')}["λ ${text(stage.id)}${stage.stateful ? ' (stateful)' : ''}"]`,
    );
    for (const id of stage.nodes) {
      const node = byId.get(id);
      if (node !== undefined) lines.push(`    ${box(node)}`);
    }
    lines.push('  end');
  }
  for (const edge of drawing.edges) {
    const arrow = DOTTED_EDGES.has(edge.kind) ? '-.->' : '-->';
    const label = edge.label === undefined ? '' : `|"${text(edge.label)}"|`;
    lines.push(`  ${mermaidId(edge.from)} ${arrow}${label} ${mermaidId(edge.to)}`);
  }
  return lines.join('\n');
}
