import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DEFAULT_INPUT_LIMITS, type InputLimits, PipelineDefinitionError, pipeline } from '../../../shared/index.js';
import { exceedsDepth } from '../../../shared/operators/input-limits.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { createLambdaStageHandler } from '../../../shared/runtime/lambda-handler.js';
import { kinesisEvent, lambdaContext } from '../../helpers/kinesis-events.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const quiet = () => ({ logger: new Logger({ logLevel: 'SILENT' }), metrics: new Metrics({ namespace: 'test' }) });
const bytes = (text: string) => Buffer.from(text);
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** A source whose schema counts the records it is asked to check: a record over a limit never gets there. */
function limited(limits?: InputLimits) {
  const checked = { count: 0 };
  const schema = z.unknown().superRefine(() => {
    checked.count += 1;
  });
  const p = pipeline('limits')
    .source('input', { schema, ...(limits !== undefined && { limits }) })
    .sink('output');
  return { p, checked };
}

async function run(limits: InputLimits | undefined, payloads: string[]) {
  const { p, checked } = limited(limits);
  const writer = new MemoryRecordWriter();
  const handler = createLambdaStageHandler(p, { stageId: 'from-input', writer, ...quiet() });
  const response = await handler(kinesisEvent(payloads.map((data) => ({ data }))), lambdaContext());
  const deadLetters = writer.values('limits-dead-letters') as DeadLetterEnvelope[];
  return { response, checked, deadLetters, outputs: writer.values('output') };
}

describe('JSON depth without parsing', () => {
  it('counts nested objects and arrays, not brackets inside strings', () => {
    expect(exceedsDepth(bytes('1'), 1)).toBe(false);
    expect(exceedsDepth(bytes('{}'), 1)).toBe(false);
    expect(exceedsDepth(bytes('{"a":[1]}'), 1)).toBe(true);
    expect(exceedsDepth(bytes('{"a":[1]}'), 2)).toBe(false);
    // Siblings do not add up: depth is the deepest path, here [ { { .
    expect(exceedsDepth(bytes('[[],[],{"b":{}},[]]'), 3)).toBe(false);
    expect(exceedsDepth(bytes('[[],[],{"b":{}},[]]'), 2)).toBe(true);
    expect(exceedsDepth(bytes(nested(64)), 64)).toBe(false);
    expect(exceedsDepth(bytes(nested(65)), 64)).toBe(true);
    expect(exceedsDepth(bytes(JSON.stringify({ s: '[[[[{{{{', t: 'a\\"[[[[' })), 1)).toBe(false);
    expect(exceedsDepth(bytes(JSON.stringify({ 'é[': '😀[[[' })), 1)).toBe(false);
  });
});

describe('source input limits', () => {
  it('default to 1 MiB and a depth of 64', () => {
    expect(DEFAULT_INPUT_LIMITS).toEqual({ maxRecordBytes: 1_048_576, maxDepth: 64 });
  });

  it('dead-letter a record over the size limit with the reason, before parsing it', async () => {
    // Prepare: the large record is not even JSON; it must fail on its size, not its syntax.
    const large = `{"pad":"${'x'.repeat(200)}"`;

    // Act
    const { response, checked, deadLetters, outputs } = await run({ maxRecordBytes: 100 }, [large, '{"ok":1}']);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.error).toEqual({
      reason: 'record-too-large',
      operator: 'input',
      message: `record is ${large.length} bytes, over the source's limit of 100 (limits.maxRecordBytes); not parsed`,
    });
    expect(Buffer.from(deadLetters[0]?.payload ?? '', 'base64').toString()).toBe(large);
    expect(outputs).toEqual([{ ok: 1 }]);
    expect(checked.count).toBe(1);
  });

  it('dead-letter a record nested deeper than the limit with the reason, before parsing it', async () => {
    // Prepare
    const deep = nested(65);
    const deepAndBroken = `${'{"a":'.repeat(70)}`;

    // Act
    const { checked, deadLetters, outputs } = await run(undefined, [deep, nested(64), deepAndBroken]);

    // Assess
    expect(deadLetters.map((letter) => letter.error.reason)).toEqual(['too-deeply-nested', 'too-deeply-nested']);
    expect(deadLetters[0]?.error.message).toBe(
      "record nests objects and arrays deeper than the source's limit of 64 (limits.maxDepth); not parsed",
    );
    expect(outputs).toEqual([JSON.parse(nested(64))]);
    expect(checked.count).toBe(1);
  });

  it('take a record exactly at both limits', async () => {
    // Prepare
    const record = '{"a":{"b":"xyz"}}';

    // Act
    const { deadLetters, outputs } = await run({ maxRecordBytes: record.length, maxDepth: 2 }, [record]);

    // Assess
    expect(deadLetters).toEqual([]);
    expect(outputs).toEqual([{ a: { b: 'xyz' } }]);
  });

  it('are checked when the pipeline is built', () => {
    expect(() => limited({ maxRecordBytes: 0 })).toThrow(PipelineDefinitionError);
    expect(() => limited({ maxRecordBytes: 11 * 1024 * 1024 })).toThrow(
      "source 'input': limits.maxRecordBytes must be an integer from 1 to 10485760 (10 MiB), got 11534336",
    );
    expect(() => limited({ maxDepth: 1.5 })).toThrow(/limits.maxDepth must be an integer/);
  });
});
