import { PipelineDefinitionError } from './errors.js';
import { costAwareBatching, resolveEventSourceSettings } from './event-source-settings.js';
import {
  isStageInput,
  isStateful,
  type PipelineNode,
  type StageInputNode,
  streamsWrittenBy,
  type ToDynamoDbNode,
  type ToTableNode,
} from './graph.js';
import type { PipelineGraph } from './pipeline-graph.js';
import type { PipelinePlan, StageSpec, StreamSpec, TableSpec } from './plan-types.js';
import { DEFAULT_SHUFFLE_FORMAT } from './shuffle-format.js';

/**
 * Cuts the DAG into stages, Flink's operator chaining: stateless operators run in the Lambda of the
 * operator before them, and each stream a stage reads (a source, or the shuffle stream a keyBy
 * writes) starts a stage of its own.
 */
export function planPipeline(graph: PipelineGraph): PipelinePlan {
  const nodes = graph.nodes();
  if (!nodes.some((node) => node.kind === 'source')) {
    throw new PipelineDefinitionError(`pipeline '${graph.name}' has no source`);
  }
  const stages = nodes.filter(isStageInput).flatMap((input) => planStagesOf(graph, input));
  assertUniqueStageIds(stages);
  const tables = planTables(graph, stages);
  const destinations = graph.destinations().map((destination) => ({
    ...destination,
    writers: stages.filter((stage) => stage.destinations?.includes(destination.name)).map((stage) => stage.id),
  }));
  return {
    pipeline: graph.name,
    streams: planStreams(graph, stages),
    stages,
    deadLetter: graph.deadLetter,
    ...(graph.deadLetter.kind === 'stream' && { deadLetterStream: graph.deadLetter.name }),
    ...(stages.some((stage) => stage.stateful) && { stateTable: `${graph.name}-state` }),
    ...(tables.length > 0 && { tables }),
    ...(destinations.length > 0 && { destinations }),
    ...(graph.options.profile === 'cost' && { profile: 'cost' }),
    ...(graph.options.operatorMetrics === false && { operatorMetrics: false }),
    ...(graph.options.shuffleFormat !== undefined &&
      graph.options.shuffleFormat !== DEFAULT_SHUFFLE_FORMAT && { shuffleFormat: graph.options.shuffleFormat }),
  };
}

function planTables(graph: PipelineGraph, stages: readonly StageSpec[]): TableSpec[] {
  return graph.tables().map((table) => {
    const writers = stages.filter((stage) => stage.tables?.writes.includes(table.name)).map((stage) => stage.id);
    const readers = stages.filter((stage) => stage.tables?.reads.includes(table.name)).map((stage) => stage.id);
    return {
      name: table.name,
      kind: table.kind,
      tableName: table.tableName,
      partitionKey: table.partitionKey,
      partitionKeyType: table.partitionKeyType,
      consistentRead: table.consistentRead,
      ...(table.sortKey !== undefined && { sortKey: table.sortKey }),
      ...(table.existing !== undefined && { existing: table.existing }),
      writers,
      readers,
    };
  });
}

/**
 * The stages that read one stream. A stateful operator runs over its whole batch against its own
 * state (one item per key, fenced per shard), so each stateful operator after a keyBy gets a stage of
 * its own on the shuffle stream, as a second consumer, and the stateless branches beside it one
 * more: fused in one stage, only the first stateful branch ran and the others were dropped
 * silently (issue 15: a second dedupe on one keyed stream wrote nothing). The first stage keeps the
 * stream's stage id; the others add the name of their first operator.
 */
function planStagesOf(graph: PipelineGraph, input: StageInputNode): StageSpec[] {
  const children = graph.children(input.name);
  const stateful = children.filter(isStateful);
  if (input.kind === 'join' || stateful.length === 0 || children.length === 1) {
    return [planStage(graph, input, children, `from-${input.stream}`)];
  }
  const stateless = children.filter((child) => !isStateful(child));
  const groups = [...stateful.map((child) => [child]), ...(stateless.length > 0 ? [stateless] : [])].sort(
    (a, b) => children.indexOf(a[0] as PipelineNode) - children.indexOf(b[0] as PipelineNode),
  );
  return groups.map((heads, index) =>
    planStage(graph, input, heads, index === 0 ? `from-${input.stream}` : `from-${input.stream}-${heads[0]?.name}`),
  );
}

function assertUniqueStageIds(stages: readonly StageSpec[]): void {
  const seen = new Set<string>();
  for (const stage of stages) {
    if (seen.has(stage.id)) {
      throw new PipelineDefinitionError(
        `two stages would be named '${stage.id}': rename the operator or the stream that gives one of them its name`,
        `stage reading '${stage.input}'`,
      );
    }
    seen.add(stage.id);
  }
}

/** One stage: `input` and the operators fused after it, from `heads` (some or all of its children) down. */
function planStage(graph: PipelineGraph, input: StageInputNode, heads: readonly PipelineNode[], id: string): StageSpec {
  const fused: PipelineNode[] = [];
  const visit = (node: PipelineNode): void => {
    const children = node === input ? heads : graph.children(node.name);
    if (children.length === 0 && node.kind !== 'sink' && node.kind !== 'joinSide' && !endsInStore(node)) {
      const what = node.kind === 'keyBy' ? 'is followed by no operator' : 'ends a branch with no sink';
      throw new PipelineDefinitionError(
        `${what}: every branch must end in .sink(stream)`,
        `${node.kind} '${node.name}'`,
      );
    }
    for (const child of children) {
      fused.push(child);
      // A keyBy ends this stage (it writes the shuffle stream) and starts the next one.
      if (!isStageInput(child)) visit(child);
    }
  };
  visit(input);
  for (const node of fused.filter(isStateful)) {
    if (node.kind === 'join') continue;
    // State is partitioned like the data: a window needs every record of a key in one place.
    if (input.kind !== 'keyBy' || node.parent !== input.name) {
      throw new PipelineDefinitionError('must directly follow a keyBy', `${node.kind} '${node.name}'`);
    }
    if (node.kind === 'process') assertEventTimeUpstream(graph, input, `process '${node.name}'`);
    else if (node.assigner.timeDomain === 'event') assertEventTimeUpstream(graph, input, `window '${node.name}'`);
  }
  if (input.kind === 'join') {
    // Event time decides which records join, and the watermark when a buffered record is done with.
    for (const side of [input.left, input.right]) {
      assertEventTimeUpstream(graph, graph.node(side) as StageInputNode, `join '${input.name}'`);
    }
  }
  const stateful = input.kind === 'join' || fused.some(isStateful);
  const tableNodes = fused.filter((node) => node.kind === 'enrich' || writesTable(node));
  const statefulNode = fused.find(isStateful) ?? (input.kind === 'join' ? input : undefined);
  if (stateful && tableNodes.length > 0 && statefulNode !== undefined) {
    // A stateful stage runs its batch once against its state; lookups need a pass of their own.
    const tableNode = tableNodes[0] as PipelineNode;
    throw new PipelineDefinitionError(
      `cannot run in the stage of ${statefulNode.kind} '${statefulNode.name}': put a keyBy between them, so that it runs in a stage of its own`,
      `${tableNode.kind} '${tableNode.name}'`,
    );
  }
  const outputs = [
    ...new Set([...(input.kind === 'join' ? streamsWrittenBy(input) : []), ...fused.flatMap(streamsWrittenBy)]),
    // Dead letters sent to a queue leave the stage through their own door (a DeadLetterSink).
    ...(graph.deadLetter.kind === 'stream' ? [graph.deadLetter.name] : []),
  ];
  const label = `${input.kind} '${input.name}'`;
  const window = fused.find((node) => node.kind === 'window');
  const batching =
    graph.options.batching === 'cost' && window?.kind === 'window' ? costAwareBatching(window.assigner) : undefined;
  const destinations = [...new Set(fused.flatMap((node) => (node.kind === 'toDestination' ? [node.destination] : [])))];
  return {
    id,
    input: input.stream,
    nodes: [input.name, ...fused.map((node) => node.name)],
    outputs,
    eventSource: resolveEventSourceSettings(label, batching, graph.options.eventSource, input.eventSource),
    stateful,
    ...(input.kind === 'source' && input.idleTimeout !== undefined && { idleTimeout: input.idleTimeout }),
    ...(tableNodes.length > 0 && {
      tables: {
        reads: [...new Set(tableNodes.filter((n) => n.kind === 'enrich').map((n) => n.table))],
        writes: [...new Set(tableNodes.filter(writesTable).map((n) => n.table))],
      },
    }),
    ...(destinations.length > 0 && { destinations }),
    ...(graph.options.shuffleFormat !== undefined &&
      graph.options.shuffleFormat !== DEFAULT_SHUFFLE_FORMAT && { shuffleFormat: graph.options.shuffleFormat }),
  };
}

/** The operators that end a branch outside Kinesis: in a table, a queue, a bus or a delivery stream. */
function endsInStore(node: PipelineNode): boolean {
  return writesTable(node) || node.kind === 'toDestination';
}

/** `toTable` and `toDynamoDb`: the operators that end a branch in a table. */
function writesTable(node: PipelineNode): node is ToTableNode | ToDynamoDbNode {
  return node.kind === 'toTable' || node.kind === 'toDynamoDb';
}

function planStreams(graph: PipelineGraph, stages: readonly StageSpec[]): StreamSpec[] {
  const shardsOf = (shards: number | undefined): number => shards ?? graph.options.defaultShards ?? 1;
  const producersOf = (stream: string) => stages.filter((stage) => stage.outputs.includes(stream)).map((s) => s.id);
  const consumersOf = (stream: string) => stages.filter((stage) => stage.input === stream).map((s) => s.id);
  const streams: StreamSpec[] = [];
  for (const node of graph.nodes()) {
    if (node.kind === 'source' || node.kind === 'keyBy' || node.kind === 'join' || node.kind === 'sink') {
      const role = node.kind === 'source' ? 'source' : node.kind === 'sink' ? 'sink' : 'shuffle';
      streams.push({
        name: node.stream,
        role,
        shardCount: shardsOf(node.shards),
        producers: producersOf(node.stream),
        consumers: consumersOf(node.stream),
        ...(node.kind === 'source' && node.dynamoDbStream !== undefined && { dynamoDbStream: node.dynamoDbStream }),
      });
    }
    const sideOutputs =
      node.kind === 'window' || node.kind === 'join'
        ? streamsWrittenBy(node)
        : node.kind === 'process'
          ? Object.values(node.sideOutputs)
          : [];
    for (const name of sideOutputs) {
      streams.push({
        name,
        role: 'side-output',
        shardCount: shardsOf(undefined),
        producers: producersOf(name),
        consumers: [],
      });
    }
  }
  if (graph.deadLetter.kind === 'stream') {
    streams.push({
      name: graph.deadLetter.name,
      role: 'dead-letter',
      shardCount: shardsOf(undefined),
      producers: producersOf(graph.deadLetter.name),
      consumers: [],
    });
  }
  return streams;
}

/**
 * Event-time operators need watermarks. They start at a source with an event-time extractor, and
 * every event-time stateful operator forwards its own with its results (docs/watermarks.md,
 * "Through stateful stages"): so the nearest stage input or stateful operator upstream must be a
 * source with eventTime, an event-time window, a join or a process function (the last two run on
 * event time themselves, which their own stages check).
 */
function assertEventTimeUpstream(graph: PipelineGraph, from: PipelineNode, operator: string): void {
  let node: PipelineNode = from;
  while (node.parent !== undefined) {
    node = graph.node(node.parent);
    if (node.kind === 'keyBy' || isStateful(node)) break;
  }
  if (forwardsEventTime(node)) return;
  if (node.kind !== 'source' || node.eventTime === undefined) {
    const where =
      node.kind === 'source'
        ? `source '${node.name}' has no eventTime`
        : `it is fed by ${node.kind} '${node.name}', which has no event time`;
    const what = operator.startsWith('window')
      ? 'an event-time window'
      : operator.startsWith('process')
        ? 'a process function'
        : 'a join';
    const fix = operator.startsWith('window')
      ? 'use a processing-time window, or give the source eventTime'
      : 'give the source eventTime';
    throw new PipelineDefinitionError(
      `${what} needs watermarks from a source with an eventTime extractor or an event-time operator before it, but ${where} (${fix})`,
      operator,
    );
  }
}

/**
 * Stateful operators whose results carry event time and whose stage forwards a watermark behind them:
 * event-time windows (results at the window's end), joins (at the later record's time) and process
 * functions (at the record's or the timer's time).
 */
function forwardsEventTime(node: PipelineNode): boolean {
  if (node.kind === 'window') return node.assigner.timeDomain === 'event';
  return node.kind === 'join' || node.kind === 'process';
}
