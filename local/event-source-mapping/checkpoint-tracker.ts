/**
 * The low-water mark of a shard: the last sequence number before which every record read is done
 * (processed or discarded). With several batches of a shard in flight (ParallelizationFactor > 1)
 * records finish out of order; the checkpoint may only pass a record once it and all before it are
 * done, so that a restart re-reads anything not finished.
 */
export class CheckpointTracker {
  // Records in read order; `#head` skips the finished prefix without shifting the array each time.
  #pending: Entry[] = [];
  #head = 0;
  readonly #bySequence = new Map<string, Entry>();
  #checkpoint: string | undefined;

  constructor(initialCheckpoint?: string) {
    this.#checkpoint = initialCheckpoint;
  }

  /** The last sequence number everything up to which is done. */
  get checkpoint(): string | undefined {
    return this.#checkpoint;
  }

  /** Records read and not yet done or not yet passed by the checkpoint. */
  get outstanding(): number {
    return this.#pending.length - this.#head;
  }

  /**
   * The oldest record read and not yet passed by the checkpoint, with its arrival time when it was
   * given: the consumer lag (Lambda's IteratorAge) is its age.
   */
  get oldestPending(): { readonly sequenceNumber: string; readonly arrivalMs: number | undefined } | undefined {
    return this.#pending[this.#head];
  }

  /** Registers a record just read; records must be registered in shard order. */
  track(sequenceNumber: string, arrivalMs?: number): void {
    const entry = { sequenceNumber, arrivalMs, done: false };
    this.#pending.push(entry);
    this.#bySequence.set(sequenceNumber, entry);
  }

  /**
   * Marks records done. Returns the new checkpoint when it moved, undefined otherwise.
   * Unknown sequence numbers are a programming error.
   */
  complete(sequenceNumbers: Iterable<string>): string | undefined {
    for (const sequenceNumber of sequenceNumbers) {
      const entry = this.#bySequence.get(sequenceNumber);
      if (!entry) throw new Error(`record ${sequenceNumber} was never tracked`);
      entry.done = true;
    }
    const before = this.#checkpoint;
    let entry = this.#pending[this.#head];
    while (entry?.done) {
      this.#checkpoint = entry.sequenceNumber;
      this.#bySequence.delete(entry.sequenceNumber);
      this.#head += 1;
      entry = this.#pending[this.#head];
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    return this.#checkpoint === before ? undefined : this.#checkpoint;
  }
}

interface Entry {
  readonly sequenceNumber: string;
  readonly arrivalMs: number | undefined;
  done: boolean;
}
