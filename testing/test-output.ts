/**
 * The records a pipeline wrote to one stream that no stage reads (a sink, a late output, the dead
 * letters), in the order they were written: Kafka Streams' TestOutputTopic. Reading consumes, so a
 * test can look at what each step added.
 */
export class TestOutput<T> {
  readonly #queue: T[] = [];
  readonly #all: T[] = [];

  constructor(readonly stream: string) {}

  /** @internal the driver appends what a stage wrote. */
  push(value: T): void {
    this.#queue.push(value);
    this.#all.push(value);
  }

  /** The oldest value not read yet; throws when there is none, so a missing result fails the test. */
  readValue(): T {
    if (this.#queue.length === 0) throw new Error(`no record left to read on '${this.stream}'`);
    return this.#queue.shift() as T;
  }

  /** Every value not read yet, oldest first; they count as read. */
  readValuesToList(): T[] {
    return this.#queue.splice(0);
  }

  /** Whether every value written so far has been read. */
  isEmpty(): boolean {
    return this.#queue.length === 0;
  }

  /** How many values are written and not read yet. */
  get queueSize(): number {
    return this.#queue.length;
  }

  /** Every value written to the stream since the driver started, read or not. */
  allValues(): readonly T[] {
    return this.#all;
  }
}
