export type { BatchVerdict } from './batch-response.js';
export { interpretBatchResponse } from './batch-response.js';
export type { BatchDecision } from './batching.js';
export { decideBatch, nextBatchLength } from './batching.js';
export type { CheckpointStore } from './checkpoint-store.js';
export { FileCheckpointStore, InMemoryCheckpointStore } from './checkpoint-store.js';
export { CheckpointTracker } from './checkpoint-tracker.js';
export type { BatchAttempt, FailurePolicy, PolicyDecision } from './failure-policy.js';
export { decideAfterAttempt, firstAttempt, splitExpired } from './failure-policy.js';
export type { EventContext, ShardRecord } from './kinesis-event.js';
export { buildEvent, eventPayloadBytes, maxInvokePayloadBytes, toShardRecord } from './kinesis-event.js';
export { EventSourceMappingStateError, KinesisEventSourceMapping } from './kinesis-event-source-mapping.js';
export { laneOf } from './lanes.js';
export type { DiscardedBatch } from './on-failure-record.js';
export { buildOnFailureRecord } from './on-failure-record.js';
export type { ResolvedOptions } from './options.js';
export { EventSourceMappingConfigError, mappingLimits, resolveOptions } from './options.js';
export { compareSequenceNumbers, isAfter } from './sequence-number.js';
export type { ShardDescription } from './shard-lineage.js';
export { describeShard, listAllShards, mayStart } from './shard-lineage.js';
export type { ReadResult, ReadStart } from './shard-reader.js';
export { ShardReadError, ShardReader } from './shard-reader.js';
export type {
  EventSourceMappingOptions,
  KinesisInvoker,
  MappingStats,
  OnFailureCondition,
  OnFailureRecord,
  ShardLag,
  ShardState,
  ShardStats,
  StartingPosition,
} from './types.js';
export { OnFailureConditions, ShardStates, StartingPositions } from './types.js';
