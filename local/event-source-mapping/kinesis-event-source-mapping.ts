import { Wakeup } from './async-tools.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { listAllShards, mayStart, type ShardDescription } from './shard-lineage.js';
import { ShardPoller } from './shard-poller.js';
import type { ReadStart } from './shard-reader.js';
import { type EventSourceMappingOptions, type MappingStats, ShardStates, StartingPositions } from './types.js';

/** The mapping was used in a way its life cycle does not allow (e.g. started again after stop). */
export class EventSourceMappingStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventSourceMappingStateError';
  }
}

/**
 * A local stand-in for a Lambda event source mapping on a Kinesis stream: polls every shard and
 * invokes `options.invoke` with the batches Lambda would send, following its batching, retry,
 * bisect, record age, partial batch response, on-failure and resharding rules (see
 * docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html and the modules of this folder).
 */
export class KinesisEventSourceMapping {
  readonly #options: ResolvedOptions;
  readonly #pollers = new Map<string, ShardPoller>();
  readonly #descriptions = new Map<string, ShardDescription>();
  readonly #abort = new AbortController();
  readonly #discoveryWakeup = new Wakeup();
  readonly #ready: Promise<void>;
  #resolveReady: () => void = () => undefined;
  #started = false;
  #stopping = false;
  #initialDiscoveryDone = false;
  // True from a shard finishing until the next ListShards: its children may not be known yet.
  #listingStale = true;
  #discovery: Promise<void> | undefined;

  /** Validates the options (throws EventSourceMappingConfigError); does not touch the stream yet. */
  constructor(options: EventSourceMappingOptions) {
    this.#options = resolveOptions(options);
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  /** Begins polling all shards (after a first ListShards). Calling it again is a no-op. */
  start(): void {
    if (this.#stopping)
      throw new EventSourceMappingStateError('a stopped mapping cannot be started again; create a new one');
    if (this.#started) return;
    this.#started = true;
    this.#discovery = this.#discoveryLoop();
  }

  /**
   * Resolves once the shards were listed and each has its first iterator: from then on a LATEST
   * mapping sees every record written. Also resolves when the mapping is stopped first.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Stops polling and waits for the invocations in flight (and their checkpoints) to end. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    this.#discoveryWakeup.notify();
    await this.#discovery;
    await Promise.all([...this.#pollers.values()].map((poller) => poller.stop()));
    this.#resolveReady();
  }

  /** A snapshot of every shard's progress, for monitoring and tests. */
  stats(): MappingStats {
    const shards = [...this.#pollers.values()]
      .map((poller) => poller.stats())
      .sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0));
    return { running: this.#started && !this.#stopping, shards };
  }

  /**
   * True when every open shard's last GetRecords found nothing after its checkpoint, nothing is in
   * flight or waiting for a retry, every closed shard is finished, and the shard list is current.
   */
  isCaughtUp(): boolean {
    if (!this.#started || this.#stopping || !this.#initialDiscoveryDone || this.#listingStale) return false;
    return [...this.#pollers.values()].every((poller) => poller.isCaughtUp());
  }

  async #discoveryLoop(): Promise<void> {
    const { kinesis, streamName, shardDiscoveryIntervalMs } = this.#options;
    while (!this.#stopping) {
      // Cleared before listing: a shard finishing during the call sets it again.
      this.#listingStale = false;
      try {
        const shards = await listAllShards(kinesis, streamName, this.#abort.signal);
        const added = this.#register(shards);
        if (!this.#initialDiscoveryDone) {
          await Promise.all(added.map((poller) => poller.prepare()));
          this.#initialDiscoveryDone = true;
          this.#resolveReady();
        } else {
          for (const poller of added) void poller.prepare();
        }
        this.#startEligible();
      } catch (error) {
        if (this.#stopping) break;
        this.#listingStale = true;
        this.#options.onInternalError(error, { operation: 'ListShards' });
      }
      await this.#discoveryWakeup.wait(shardDiscoveryIntervalMs, this.#abort.signal);
    }
  }

  /** Creates pollers for shards not seen before; returns them. */
  #register(shards: readonly ShardDescription[]): ShardPoller[] {
    const added: ShardPoller[] = [];
    for (const shard of shards) {
      const known = this.#pollers.get(shard.shardId);
      if (known) {
        if (shard.closed) known.markClosed();
        continue;
      }
      const poller = new ShardPoller({
        mapping: this.#options,
        shard,
        start: this.#startFor(),
        notBeforeMs:
          this.#options.startingPosition === StartingPositions.atTimestamp
            ? this.#options.startingPositionTimestamp?.getTime()
            : undefined,
        onFinished: () => this.#onShardFinished(),
      });
      this.#pollers.set(shard.shardId, poller);
      this.#descriptions.set(shard.shardId, shard);
      added.push(poller);
    }
    return added;
  }

  /**
   * The starting position applies to the shards that exist when the mapping starts; shards created
   * later (children of a split or merge) are read from their beginning, or records would be lost.
   * AT_TIMESTAMP reads from TRIM_HORIZON and skips older records: kinesalite never answers an
   * AT_TIMESTAMP GetShardIterator when no record is that recent, and the result is the same.
   */
  #startFor(): ReadStart {
    if (!this.#initialDiscoveryDone && this.#options.startingPosition === StartingPositions.latest) {
      return { type: 'LATEST' };
    }
    return { type: 'TRIM_HORIZON' };
  }

  #startEligible(): void {
    for (const [shardId, poller] of this.#pollers) {
      if (poller.state !== ShardStates.waitingForParents) continue;
      const shard = this.#descriptions.get(shardId);
      if (!shard) continue;
      const eligible = mayStart(shard, (parentId) => {
        const parent = this.#pollers.get(parentId);
        if (!parent) return 'unknown';
        return parent.state === ShardStates.finished ? 'finished' : 'unfinished';
      });
      if (eligible) poller.start();
    }
  }

  #onShardFinished(): void {
    this.#listingStale = true;
    this.#startEligible();
    this.#discoveryWakeup.notify();
  }
}
