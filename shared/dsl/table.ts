import type { Pipeline } from './pipeline.js';

/**
 * A table of rows by key that streams can be enriched with (`DataStream.enrich`): kept by the
 * pipeline from a stream (`DataStream.toTable`), or an existing DynamoDB table (`pipeline.table`).
 */
export class Table<R> {
  /** The row type, for the compiler only: a table holds no rows in memory. */
  declare readonly rowType: R;

  /** @internal */
  constructor(
    readonly pipeline: Pipeline,
    readonly name: string,
  ) {}
}
