import type { JoinNode, ProcessNode, WindowNode } from './graph.js';
import type { PipelineGraph } from './pipeline-graph.js';
import type { StageSpec } from './plan-types.js';

/** The operator a stage keeps state for: what its runtime must bundle beyond the stateless operators. */
export type StatefulKind = 'window' | 'process' | 'join';

/** A stateful stage's kind and the node that keeps its state. */
export type StatefulNodeOf =
  | { readonly kind: 'window'; readonly node: WindowNode }
  | { readonly kind: 'process'; readonly node: ProcessNode }
  | { readonly kind: 'join'; readonly node: JoinNode };

/**
 * The window, process function or join a stage keeps state for, undefined for a stage that keeps
 * none. A join is the stage's input node; a window or process function is a child of the input
 * fused in the stage (one stateful operator per stage, docs/state.md). The runtime runs the
 * operator this names, and infra bundles the entry point of this kind, so both read it from here.
 */
export function statefulNodeOf(graph: PipelineGraph, stage: StageSpec): StatefulNodeOf | undefined {
  const input = graph.node(stage.nodes[0] ?? '');
  if (stage.stateful) {
    const first = graph
      .children(input.name)
      .find((node) => (node.kind === 'window' || node.kind === 'process') && stage.nodes.includes(node.name));
    if (first?.kind === 'window') return { kind: 'window', node: first };
    if (first?.kind === 'process') return { kind: 'process', node: first };
  }
  if (input.kind === 'join') return { kind: 'join', node: input };
  return undefined;
}
