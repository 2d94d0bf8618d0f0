import type { OutputRecord } from '../records.js';
import type { RecordWriter, WriteOutcome } from './record-writer.js';

/** Keeps written records in memory, per stream: for tests and in-process benchmarks. */
export class MemoryRecordWriter implements RecordWriter {
  readonly streams = new Map<string, OutputRecord[]>();

  async write(records: readonly OutputRecord[]): Promise<WriteOutcome> {
    for (const record of records) {
      let list = this.streams.get(record.stream);
      if (list === undefined) {
        list = [];
        this.streams.set(record.stream, list);
      }
      list.push(record);
    }
    return { failed: [], requests: new Set(records.map((r) => r.stream)).size };
  }

  /** The JSON values written to a stream, parsed. */
  values(stream: string): unknown[] {
    return (this.streams.get(stream) ?? []).map((record) => JSON.parse(record.data));
  }
}
