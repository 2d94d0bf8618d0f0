import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { count, tumbling } from '../../../shared/windows/index.js';
import { IdEvent } from '../../helpers/id-windows.js';
import { sourceShardRecords } from '../../helpers/unreliable-kinesis.js';

describe('traces across stages', () => {
  it("names the trace of the invocation that wrote a batch's packs in the next stage's report", async () => {
    // Prepare
    const p = pipeline('traced');
    p.source('events', { schema: IdEvent, eventTime: (e) => e.t })
      .keyBy((e) => e.key, { name: 'by-key' })
      .window(tumbling(100))
      .aggregate(count())
      .sink('counts');
    const shuffle = new MemoryRecordWriter();
    const upstream = new StageRunner({
      pipeline: p,
      stageId: 'from-events',
      writer: shuffle,
      traceId: () => '1-6740b7c1-2f1c4a3e5b6d7e8f90a1b2c3',
    });
    const events = [1, 2, 3].map((i) => ({ key: `k${i}`, t: i * 10, id: `e${i}` }));

    // Act
    await upstream.run(sourceShardRecords('events', 0, events), Date.now() + 60_000);
    const packs: InputRecord[] = (shuffle.streams.get('traced-by-key') ?? []).map((pack, i) => ({
      position: {
        stream: 'traced-by-key',
        shardId: 'shardId-000000000000',
        sequenceNumber: String(100 + i),
        partitionKey: pack.partitionKey,
        arrivalTime: 0,
      },
      data: Buffer.from(pack.data),
    }));
    const downstream = new StageRunner({
      pipeline: p,
      stageId: 'from-traced-by-key',
      writer: new MemoryRecordWriter(),
      store: new MemoryWindowStore(),
    });
    const { report } = await downstream.run(packs, Date.now() + 60_000);

    // Assess
    expect(JSON.parse(packs[0]?.data.toString() ?? '{}').tr).toBe('1-6740b7c1-2f1c4a3e5b6d7e8f90a1b2c3');
    expect(report.upstreamTraces).toEqual(['1-6740b7c1-2f1c4a3e5b6d7e8f90a1b2c3']);
  });
});
