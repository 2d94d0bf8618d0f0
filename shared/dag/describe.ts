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

/** The DAG as a Mermaid flowchart: one subgraph per stage (Lambda), streams as queues between them. */
export function toMermaid(graph: PipelineGraph, plan: PipelinePlan): string {
  const id = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');
  const lines = ['flowchart LR'];
  for (const stream of plan.streams) {
    lines.push(
      `  ${id(`stream_${stream.name}`)}[("${stream.name}<br/>${stream.role}, ${stream.shardCount} shard(s)")]`,
    );
  }
  for (const table of plan.tables ?? []) {
    lines.push(`  ${id(`table_${table.name}`)}[("${table.name}<br/>DynamoDB table, ${table.kind}")]`);
  }
  if (plan.deadLetter.kind === 'queue') {
    lines.push(`  ${id(`queue_${plan.deadLetter.name}`)}[/"${plan.deadLetter.name}<br/>dead-letter SQS queue"/]`);
  }
  for (const stage of plan.stages) {
    lines.push(`  subgraph ${id(stage.id)}["λ ${stage.id}"]`);
    for (const name of stage.nodes.slice(1)) {
      const node = graph.node(name);
      if (node.kind !== 'sink' && node.kind !== 'keyBy')
        lines.push(`    ${id(`${stage.id}_${name}`)}["${node.kind}: ${name}"]`);
    }
    lines.push('  end');
    const entry = (name: string) => {
      const node = graph.node(name);
      return node.kind === 'sink' || node.kind === 'keyBy' ? id(`stream_${node.stream}`) : id(`${stage.id}_${name}`);
    };
    for (const name of stage.nodes.slice(1)) {
      const node = graph.node(name);
      const from = node.parent === stage.nodes[0] ? id(`stream_${stage.input}`) : entry(node.parent ?? '');
      const label = node.kind === 'keyBy' ? `|${node.name}|` : '';
      lines.push(`  ${from} -->${label} ${entry(name)}`);
      if (node.kind === 'toTable' || node.kind === 'toDynamoDb')
        lines.push(`  ${entry(name)} --> ${id(`table_${node.table}`)}`);
      if (node.kind === 'enrich') lines.push(`  ${id(`table_${node.table}`)} -. lookup .-> ${entry(name)}`);
    }
    lines.push(`  ${id(stage.id)} -. errors .-> ${id(`${plan.deadLetter.kind}_${plan.deadLetter.name}`)}`);
  }
  return lines.join('\n');
}
