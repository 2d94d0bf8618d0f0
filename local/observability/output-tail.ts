import type { PipelineGraph } from '../../shared/dag/pipeline-graph.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import type { LocalPipeline } from '../runner/local-pipeline.js';
import { readStreamPages } from '../runner/stream-reader.js';
import { type RecentEvents, recentDeadLetter, recentLateRecord } from './recent-events.js';

/** The late outputs of windows and joins, and process functions' outputs named `late`. */
export function lateOutputsOf(graph: PipelineGraph): string[] {
  return graph.nodes().flatMap((node) => {
    if (node.kind === 'window' || node.kind === 'join') return node.lateOutput === undefined ? [] : [node.lateOutput];
    if (node.kind === 'process' && node.sideOutputs.late !== undefined) return [node.sideOutputs.late];
    return [];
  });
}

/**
 * Follows a running pipeline's dead letters (its stream, or its local queue) and late outputs into
 * {@link RecentEvents}: each poll reads only what arrived after the last record it saw, per shard.
 */
export class OutputTail {
  /** `<stream>\0<shard>` → the last sequence number read. */
  readonly #after = new Map<string, string>();
  #queueSeen = 0;
  #timer: NodeJS.Timeout | undefined;
  #poll: Promise<void> | undefined;
  #stopped = false;

  constructor(
    readonly local: LocalPipeline,
    readonly recent: RecentEvents,
    readonly intervalMs = 500,
  ) {}

  start(): void {
    const schedule = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        // A failed poll (the emulator busy, a stream not there yet) is tried again at the next one.
        this.#poll = this.poll()
          .catch(() => undefined)
          .finally(schedule);
      }, this.intervalMs);
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#poll;
  }

  async poll(): Promise<void> {
    const { plan } = this.local;
    const queue = this.local.deadLetterQueue;
    if (queue !== undefined) {
      const messages = queue.messages();
      for (const envelope of messages.slice(this.#queueSeen)) {
        this.recent.addDeadLetter(recentDeadLetter(envelope, envelope.deadLetteredAt));
      }
      this.#queueSeen = messages.length;
    } else {
      await this.#read(plan.deadLetter.name, (data) => {
        const envelope = JSON.parse(data) as DeadLetterEnvelope;
        this.recent.addDeadLetter(recentDeadLetter(envelope, envelope.deadLetteredAt));
      });
    }
    for (const output of lateOutputsOf(this.local.pipeline.graph)) {
      await this.#read(output, (data, at) => {
        const payload = JSON.parse(data) as unknown;
        const record = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
        this.recent.addLate(recentLateRecord(plan, output, record, at));
      });
    }
  }

  async #read(stream: string, each: (data: string, arrivedAt: number) => void): Promise<void> {
    const key = (shardId: string) => `${stream}\0${shardId}`;
    const pages = readStreamPages(this.local.kinesis, this.local.physicalName(stream), (shardId) => {
      const after = this.#after.get(key(shardId));
      return after === undefined ? {} : { after };
    });
    for await (const page of pages) {
      for (const record of page) {
        this.#after.set(key(record.shardId), record.sequenceNumber);
        try {
          each(Buffer.from(record.data).toString('utf8'), record.arrivalTime);
        } catch {
          // Not JSON: not something the console can show; the stream still has it.
        }
      }
    }
  }
}
