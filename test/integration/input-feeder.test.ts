import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../local/aws-clients.js';
import { LostFedRecordsError, linesInStream, resumePoint } from '../../local/runner/fed-lines.js';
import { feedJsonLines, KINESIS_RECORD_LIMIT, type OversizedLine } from '../../local/runner/input-feeder.js';
import { InputProgress } from '../../local/runner/input-progress.js';
import { lineKey, lineOf } from '../../local/runner/line-keys.js';
import { readWholeStream } from '../../local/runner/stream-reader.js';
import { createTestStream, useEmulators } from '../helpers/emulators.js';

const emulators = useEmulators({ dynamodb: false });
const dir = mkdtempSync(join(tmpdir(), 'eddy-feeder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const linesOf = (records: readonly { partitionKey: string }[], file: string) =>
  records.map((record) => lineOf(record.partitionKey, file));

describe('feedJsonLines', () => {
  it('puts each line as the bytes the file holds: invalid UTF-8 unaltered, CRLF cut, blank lines skipped', async () => {
    // Prepare
    const kinesis = createKinesisClient(emulators().kinesisEndpoint);
    const stream = await createTestStream(kinesis, 1, 'feeder-bytes');
    const file = join(dir, 'bytes.jsonl');
    const invalid = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d]); // {"a":"\xff\xfe\xc3"}
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('{"n":1}\r\n'),
        invalid,
        Buffer.from('\n  \r\n\n{"n":"é"}\n{"n":4}'), // a blank line, an empty one, UTF-8, no final newline
      ]),
    );

    // Act
    const result = await feedJsonLines(kinesis, stream, file);
    const records = await readWholeStream(kinesis, stream);

    // Assess
    expect(result).toEqual({ records: 4, tooLarge: 0 });
    expect(records.map((r) => Buffer.from(r.data))).toEqual([
      Buffer.from('{"n":1}'),
      invalid,
      Buffer.from('{"n":"é"}'),
      Buffer.from('{"n":4}'),
    ]);
    expect(linesOf(records, file)).toEqual([1, 2, 5, 6]);
  });

  it('hands a line over the record limit to onTooLarge with its file and line, and feeds the others', async () => {
    // Prepare
    const kinesis = createKinesisClient(emulators().kinesisEndpoint);
    const stream = await createTestStream(kinesis, 2, 'feeder-large');
    const file = join(dir, 'large.jsonl');
    const key = lineKey(file, 2);
    // Exactly at the limit with its partition key (it fits), then one byte over.
    const fits = `"${'x'.repeat(KINESIS_RECORD_LIMIT - Buffer.byteLength(lineKey(file, 3)) - 2)}"`;
    const over = `"${'y'.repeat(KINESIS_RECORD_LIMIT - Buffer.byteLength(key) - 1)}"`;
    writeFileSync(file, `{"n":1}\n${over}\n${fits}\n{"n":4}\n`);
    const tooLarge: OversizedLine[] = [];

    // Act
    const result = await feedJsonLines(kinesis, stream, file, () => {}, {
      onTooLarge: async (line) => {
        tooLarge.push(line);
      },
    });
    const records = await readWholeStream(kinesis, stream);

    // Assess
    expect(result).toEqual({ records: 3, tooLarge: 1 });
    expect(linesOf(records, file).sort()).toEqual([1, 3, 4]);
    expect(tooLarge).toHaveLength(1);
    expect(tooLarge[0]).toMatchObject({
      file,
      line: 2,
      partitionKey: key,
      recordBytes: KINESIS_RECORD_LIMIT + 1,
      limit: KINESIS_RECORD_LIMIT,
    });
    expect(tooLarge[0]?.bytes.toString()).toBe(over);
  });

  it('without onTooLarge, fails with an error that names the file and the line', async () => {
    const kinesis = createKinesisClient(emulators().kinesisEndpoint);
    const stream = await createTestStream(kinesis, 1, 'feeder-large');
    const file = join(dir, 'large-fails.jsonl');
    writeFileSync(file, `{"n":1}\n{"n":2}\n"${'z'.repeat(200)}"\n`);

    await expect(feedJsonLines(kinesis, stream, file, () => {}, { recordLimit: 100 })).rejects.toThrow(
      `${file}:3: a line of ${202 + Buffer.byteLength(lineKey(file, 3))} bytes`,
    );
  });

  it('resumed after a stop in the middle of a partly failed round, feeds exactly the lines not in the stream', async () => {
    // Prepare: 1,300 lines; the first round (500 lines) is recorded; the second reaches the stream
    // in part (PutRecords took some records and failed others) and the feeder dies before retrying.
    const kinesis = createKinesisClient(emulators().kinesisEndpoint);
    const stream = await createTestStream(kinesis, 3, 'feeder-resume');
    const file = join(dir, 'resume.jsonl');
    writeFileSync(file, Array.from({ length: 1_300 }, (_, i) => `{"n":${i + 1}}\n`).join(''));
    const progress = new InputProgress(join(dir, 'data'), 'resume');
    const taken = (line: number) => line % 7 !== 0 && (line < 620 || line > 700);
    let rounds = 0;
    const dying = new Proxy(kinesis, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: PutRecordsCommand) => {
          rounds += 1;
          if (rounds === 1) return target.send(command);
          const records = (command.input.Records ?? []).filter((r) => taken(lineOf(r.PartitionKey ?? '', file) ?? 0));
          await target.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
          throw new Error('the feeder died in the middle of a round');
        };
      },
    }) as KinesisClient;
    await expect(
      feedJsonLines(dying, stream, file, () => {}, {
        onCommitted: (line, shards) => progress.record(stream, file, line, shards),
      }),
    ).rejects.toThrow(/died/);

    // Act: as a resumed run does.
    const resumed = new InputProgress(join(dir, 'data'), 'resume');
    const fed = resumed.fed(stream, file);
    const start = await resumePoint(kinesis, resumed, { stream, physicalStream: stream, file });
    const alreadyIn = start.alreadyIn ?? new Set();
    const result = await feedJsonLines(kinesis, stream, file, () => {}, start);
    const records = await readWholeStream(kinesis, stream);

    // Assess
    expect(fed?.line).toBe(500);
    expect(Object.keys(fed?.shards ?? {}).length).toBe(3);
    expect([...alreadyIn].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => 501 + i).filter(taken));
    expect(result.records).toBe(1_300 - 500 - alreadyIn.size);
    expect(linesOf(records, file).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 1_300 }, (_, i) => i + 1),
    );
  });

  it('refuses to resume when the stream lost a record an earlier run recorded as in', async () => {
    // Prepare: a round recorded at a position the stream does not hold (as after a machine crash
    // that lost the emulator's unsynced writes but kept the progress file).
    const kinesis = createKinesisClient(emulators().kinesisEndpoint);
    const stream = await createTestStream(kinesis, 1, 'feeder-lost');
    const file = join(dir, 'lost.jsonl');
    writeFileSync(file, '{"n":1}\n{"n":2}\n');
    const recorded: Record<string, string> = {};
    await feedJsonLines(kinesis, stream, file, () => {}, {
      onCommitted: (_, shards) => Object.assign(recorded, shards),
    });
    const [shardId, sequence] = Object.entries(recorded)[0] as [string, string];
    const lost = { [shardId]: (BigInt(sequence) + 1n).toString() };

    // Act, Assess
    await expect(linesInStream(kinesis, stream, file, 2, recorded)).resolves.toEqual(new Set());
    await expect(linesInStream(kinesis, stream, file, 2, lost)).rejects.toBeInstanceOf(LostFedRecordsError);
  });
});
