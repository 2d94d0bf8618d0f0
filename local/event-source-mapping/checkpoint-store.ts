/**
 * Where a mapping keeps, per shard, the sequence number of the last record it is done with
 * (processed or discarded). Async so that a durable store can replace the in-memory one.
 */
export interface CheckpointStore {
  /** The last checkpointed sequence number of the shard, or undefined when it was never checkpointed. */
  get(shardId: string): Promise<string | undefined>;
  put(shardId: string, sequenceNumber: string): Promise<void>;
}

/** Checkpoints held in this process only: a restarted mapping starts again from its starting position. */
export class InMemoryCheckpointStore implements CheckpointStore {
  readonly #checkpoints = new Map<string, string>();

  async get(shardId: string): Promise<string | undefined> {
    return this.#checkpoints.get(shardId);
  }

  async put(shardId: string, sequenceNumber: string): Promise<void> {
    this.#checkpoints.set(shardId, sequenceNumber);
  }

  /** A copy of every checkpoint, by shard id. */
  snapshot(): ReadonlyMap<string, string> {
    return new Map(this.#checkpoints);
  }
}
