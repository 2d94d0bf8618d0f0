import type { z } from 'zod';
import type { Aggregation, EmitMode, WindowAssigner } from '../windows/types.js';
import type { EventSourceSettings } from './plan-types.js';

/**
 * The logical DAG a pipeline builder records: one node per operator, each knowing its parent.
 * Nodes keep the user's functions (the runtime calls them); `describePipeline` gives the
 * serialisable view.
 */

export const OperatorKinds = {
  source: 'source',
  map: 'map',
  filter: 'filter',
  flatMap: 'flatMap',
  keyBy: 'keyBy',
  window: 'window',
  sink: 'sink',
} as const;
export type OperatorKind = (typeof OperatorKinds)[keyof typeof OperatorKinds];

/** A user function as the runtime sees it: types are erased once the builder has checked them. */
export type AnyFunction = (value: unknown) => unknown;

interface NodeBase {
  /** Unique within the pipeline; defaults to `<kind>-<n>` and is what errors, logs and metrics name. */
  readonly name: string;
  /** The node this one reads from; absent for sources. */
  readonly parent?: string;
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly stream: string;
  readonly schema: z.ZodType;
  readonly eventTime?: AnyFunction;
  /** Bounded out-of-orderness of event times, ms: the watermark trails the highest event time by this much. */
  readonly maxOutOfOrderness: number;
  /** A shard with no records for this long stops holding back the watermark (Flink's withIdleness), ms. */
  readonly idleTimeout?: number;
  readonly shards?: number;
  readonly eventSource?: Partial<EventSourceSettings>;
}

export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly fn: AnyFunction;
}

export interface FilterNode extends NodeBase {
  readonly kind: 'filter';
  readonly fn: AnyFunction;
}

export interface FlatMapNode extends NodeBase {
  readonly kind: 'flatMap';
  readonly fn: AnyFunction;
}

/** Ends a stage: records are re-partitioned by key through a shuffle stream read by the next stage. */
export interface KeyByNode extends NodeBase {
  readonly kind: 'keyBy';
  readonly fn: AnyFunction;
  readonly stream: string;
  readonly shards?: number;
  readonly eventSource?: Partial<EventSourceSettings>;
}

/** A keyed windowed aggregation: stateful, runs in the stage that reads its keyBy's shuffle stream. */
export interface WindowNode extends NodeBase {
  readonly kind: 'window';
  readonly assigner: WindowAssigner;
  readonly aggregation: Aggregation<unknown, unknown, unknown>;
  /** ms */
  readonly allowedLateness: number;
  readonly emit: EmitMode;
  /** The side output for records too late for every window they belong to. */
  readonly lateOutput: string;
}

export interface SinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly stream: string;
  readonly shards?: number;
}

export type PipelineNode = SourceNode | MapNode | FilterNode | FlatMapNode | KeyByNode | WindowNode | SinkNode;

/** Nodes that start a stage: their stream is a Lambda trigger. */
export type StageInputNode = SourceNode | KeyByNode;

export function isStageInput(node: PipelineNode): node is StageInputNode {
  return node.kind === 'source' || node.kind === 'keyBy';
}

/** The Kinesis streams a node writes to (a keyBy its shuffle, a sink its stream, a window its late output). */
export function streamsWrittenBy(node: PipelineNode): string[] {
  switch (node.kind) {
    case 'keyBy':
    case 'sink':
      return [node.stream];
    case 'window':
      return [node.lateOutput];
    default:
      return [];
  }
}

/** Nodes whose state lives in DynamoDB. */
export function isStateful(node: PipelineNode): node is WindowNode {
  return node.kind === 'window';
}
