import { createDecipheriv } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * kinesalite 3.3.3's GetRecords, with one fix: a read that finds nothing leaves the iterator where it
 * was. kinesalite's own moved it to a sequence number made of the read's clock, and so skipped for
 * ever a record that PutRecords had numbered before that time but not yet committed to LevelDB (a
 * put numbers its records, then writes the stream's metadata, then the records). Only records whose
 * sequence index equals the iterator's are exposed, which is the first record of a shard group read
 * from TRIM_HORIZON: under load it went missing about once in ten restarts of
 * test/e2e/restart.test.ts (the first click of the input, one view short in the first window).
 * Kinesis never skips a record a consumer's iterator has not passed, so neither may the emulator.
 *
 * A closed shard still ends on the first empty read: the shard list was read before the scan, and
 * kinesalite closes a shard under the same stream lock as puts take, so every record of a shard seen
 * closed was committed before the scan began.
 *
 * A second fix: MillisBehindLatest as Kinesis means it, "how far the response is from the tip of
 * the stream", 0 only when caught up. kinesalite answered 0 for every open shard, so a consumer's lag
 * read 0 through a backlog. Here it is the arrival time of the newest record in the shard minus that
 * of the last record returned, as kinesis-mock computes it, and at least 1 ms while records remain
 * after the last one returned (arrival times are in ms, so a burst can share one): 0 means the read
 * reached the newest record, or found none.
 *
 * Otherwise the same as kinesalite's action (MIT, github.com/mhart/kinesalite, actions/getRecords.js).
 */

const require = createRequire(import.meta.url);

interface SequenceParts {
  readonly seqTime: number;
}
interface StoredRecord {
  SequenceNumber?: string;
  _seqObj?: SequenceParts;
  _tooOld?: boolean;
  [field: string]: unknown;
}
interface StreamShard {
  readonly SequenceNumberRange: { readonly EndingSequenceNumber?: string };
}
interface StreamMeta {
  readonly Shards: readonly StreamShard[];
  readonly RetentionPeriodHours: number;
}
interface LevelItem {
  readonly key: string;
  readonly value: StoredRecord;
}
interface Lazy<T> {
  take(n: number): Lazy<T>;
  map<U>(f: (item: T) => U): Lazy<U>;
  filter(f: (item: T) => boolean): Lazy<T>;
  join(f: (items: T[]) => void): void;
}
interface StreamDb {
  createReadStream(options: { gte: string; lt: string }): unknown;
  createKeyStream(options: { gte: string; lt: string; reverse: true; limit: 1 }): NodeJS.ReadableStream;
  batch(ops: { type: 'del'; key: string }[], cb: (error?: Error) => void): void;
}
export interface KinesaliteStore {
  readonly metaDb: { readonly awsAccountId: string };
  getStream(
    name: string,
    cb: (error: (Error & { body?: { message: string } }) | null, stream: StreamMeta) => void,
  ): void;
  getStreamDb(name: string): StreamDb;
}
interface KinesaliteDb {
  readonly ITERATOR_PWD_KEY: Buffer;
  readonly ITERATOR_PWD_IV: Buffer;
  clientError(name: string, message: string): Error;
  parseSequence(sequenceNumber: string): SequenceParts;
  incrementSequence(sequence: SequenceParts, seqTime: number | null): string;
  createShardIterator(stream: string, shardId: string, sequenceNumber: string): string;
  shardIxToHex(shardIx: number): string;
  lazy(stream: unknown, cb: (error: Error) => void): Lazy<LevelItem>;
}

const db = require('kinesalite/db') as KinesaliteDb;

export interface GetRecordsInput {
  readonly ShardIterator: string;
  readonly Limit?: number;
}
export interface GetRecordsOutput {
  readonly MillisBehindLatest: number;
  readonly NextShardIterator: string | undefined;
  readonly Records: StoredRecord[];
}
export type Callback = (error: Error | null, output?: GetRecordsOutput) => void;

interface IteratorPosition {
  readonly streamName: string;
  readonly shardId: string;
  readonly shardIx: number;
  readonly seqNo: string;
}

/** The position an iterator encodes, or the error kinesalite answers for it. */
function readIterator(iterator: string, now: number): IteratorPosition | Error {
  const buffer = Buffer.from(iterator, 'base64');
  if (buffer.length < 152 || buffer.length > 280 || buffer.toString('base64') !== iterator)
    return invalidShardIterator();
  if (buffer.subarray(0, 8).toString('hex') !== '0000000000000001') return invalidShardIterator();
  let pieces: string[];
  try {
    const decipher = createDecipheriv('aes-256-cbc', db.ITERATOR_PWD_KEY, db.ITERATOR_PWD_IV);
    pieces = Buffer.concat([decipher.update(buffer.subarray(8)), decipher.final()])
      .toString('utf8')
      .split('/');
  } catch {
    return invalidShardIterator();
  }
  if (pieces.length !== 5) return invalidShardIterator();
  const iteratorTime = Number(pieces[0]);
  const streamName = pieces[1] as string;
  const shardId = pieces[2] as string;
  const seqNo = pieces[3] as string;
  const shardIx = Number.parseInt(shardId.split('-')[1] ?? '', 10);
  if (!/^shardId-[\d]{12}$/.test(shardId) || !(shardIx >= 0 && shardIx < 2147483648)) return invalidShardIterator();
  if (!(iteratorTime > 0 && iteratorTime <= now)) return invalidShardIterator();
  if (!/[a-zA-Z0-9_.-]+/.test(streamName) || !streamName.length || streamName.length > 128)
    return invalidShardIterator();
  if (now - iteratorTime > 300000) {
    return db.clientError(
      'ExpiredIteratorException',
      `Iterator expired. The iterator was created at time ${toAmzUtcString(iteratorTime)} while right now it is ` +
        `${toAmzUtcString(now)} which is further in the future than the tolerated delay of 300000 milliseconds.`,
    );
  }
  try {
    db.parseSequence(seqNo);
  } catch {
    return invalidShardIterator();
  }
  return { streamName, shardId, shardIx, seqNo };
}

export function getRecords(store: KinesaliteStore, data: GetRecordsInput, callback: Callback): void {
  const { metaDb } = store;
  const now = Date.now();
  const position = readIterator(data.ShardIterator, now);
  if (position instanceof Error) {
    callback(position);
    return;
  }
  const { streamName, shardId, shardIx, seqNo } = position;
  store.getStream(streamName, (error, stream) => {
    if (error) {
      if (error.name === 'NotFoundError' && error.body) {
        error.body.message = `Shard ${shardId} in stream ${streamName} under account ${metaDb.awsAccountId} does not exist`;
      }
      callback(error);
      return;
    }
    if (shardIx >= stream.Shards.length) {
      callback(
        db.clientError(
          'ResourceNotFoundException',
          `Shard ${shardId} in stream ${streamName} under account ${metaDb.awsAccountId} does not exist`,
        ),
      );
      return;
    }
    const done = once(callback);
    const streamDb = store.getStreamDb(streamName);
    const cutoffTime = now - stream.RetentionPeriodHours * 60 * 60 * 1000;
    const keysToDelete: string[] = [];
    let lastItem: StoredRecord | undefined;
    const range = { gte: `${db.shardIxToHex(shardIx)}/${seqNo}`, lt: db.shardIxToHex(shardIx + 1) };
    db.lazy(streamDb.createReadStream(range), done)
      .take(data.Limit || 10000)
      .map((item) => {
        const record = item.value;
        record.SequenceNumber = item.key.split('/')[1] as string;
        record._seqObj = db.parseSequence(record.SequenceNumber);
        record._tooOld = record._seqObj.seqTime < cutoffTime;
        if (record._tooOld) keysToDelete.push(item.key);
        lastItem = record;
        return record;
      })
      .filter((record) => !record._tooOld)
      .join((items) => {
        const ending = stream.Shards[shardIx]?.SequenceNumberRange.EndingSequenceNumber;
        let nextShardIterator: string | undefined;
        let millisBehind = 0;
        if (lastItem !== undefined) {
          nextShardIterator = db.createShardIterator(
            streamName,
            shardId,
            db.incrementSequence(lastItem._seqObj as SequenceParts, null),
          );
        } else if (ending !== undefined && ending !== null) {
          nextShardIterator = undefined;
          millisBehind = Math.max(0, now - db.parseSequence(ending).seqTime);
        } else {
          // The fix: nothing found, so the next read starts where this one did.
          nextShardIterator = db.createShardIterator(streamName, shardId, seqNo);
        }
        const answer = (millisBehindLatest: number) =>
          done(null, {
            MillisBehindLatest: millisBehindLatest,
            NextShardIterator: nextShardIterator,
            Records: items.map((record) => {
              delete record._seqObj;
              delete record._tooOld;
              return record;
            }),
          });
        if (lastItem === undefined) answer(millisBehind);
        else {
          const lastRead = lastItem;
          newestSequence(streamDb, shardIx, (newest) => answer(millisBehindNewest(lastRead, newest)));
        }
        if (keysToDelete.length > 0) {
          streamDb.batch(
            keysToDelete.map((key) => ({ type: 'del', key })),
            (batchError) => {
              if (batchError && !/Database is not open/.test(String(batchError)))
                console.error(batchError.stack ?? batchError);
            },
          );
        }
      });
  });
}

/** The sequence number of the newest record of a shard, or undefined when it cannot be read. */
function newestSequence(streamDb: StreamDb, shardIx: number, callback: (sequenceNumber?: string) => void): void {
  let newest: string | undefined;
  let answered = false;
  const finish = () => {
    if (answered) return;
    answered = true;
    callback(newest);
  };
  const keys = streamDb.createKeyStream({
    gte: `${db.shardIxToHex(shardIx)}/`,
    lt: db.shardIxToHex(shardIx + 1),
    reverse: true,
    limit: 1,
  });
  keys.on('data', (key: unknown) => {
    newest ??= String(key).split('/')[1];
  });
  keys.on('end', finish);
  keys.on('close', finish);
  // The records were read; a failing look at the tip must not fail the read: it counts as at the tip.
  keys.on('error', finish);
}

/** Newest arrival minus the last returned record's, at least 1 ms when a newer record exists. */
export function millisBehindNewest(lastRead: StoredRecord, newestSequenceNumber: string | undefined): number {
  if (newestSequenceNumber === undefined || lastRead.SequenceNumber === undefined) return 0;
  if (compareSequenceNumbers(newestSequenceNumber, lastRead.SequenceNumber) <= 0) return 0;
  const lastTime = (lastRead._seqObj ?? db.parseSequence(lastRead.SequenceNumber)).seqTime;
  return Math.max(1, db.parseSequence(newestSequenceNumber).seqTime - lastTime);
}

function compareSequenceNumbers(a: string, b: string): number {
  const left = BigInt(a);
  const right = BigInt(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

function once(callback: Callback): Callback {
  let called = false;
  return (error, output) => {
    if (called) return;
    called = true;
    callback(error, output);
  };
}

function invalidShardIterator(): Error {
  return db.clientError('InvalidArgumentException', 'Invalid ShardIterator.');
}

// Thu Jan 22 01:22:02 UTC 2015
function toAmzUtcString(date: number): string {
  const pieces = new Date(date).toUTCString().match(/^(.+), (.+) (.+) (.+) (.+) GMT$/) ?? [];
  return [pieces[1], pieces[3], pieces[2], pieces[5], 'UTC', pieces[4]].join(' ');
}
