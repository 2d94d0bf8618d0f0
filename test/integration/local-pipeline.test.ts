import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pipeline } from '../../shared/index.js';
import { useEmulators } from '../helpers/emulators.js';

const Reading = z.object({ sensor: z.string(), celsius: z.number() });

function sensors() {
  const p = pipeline('sensors', { defaultShards: 2, eventSource: { maxBatchingWindowSeconds: 0, batchSize: 7 } });
  const readings = p.source('readings', { schema: Reading, shards: 3 });
  readings.map((r) => ({ sensor: r.sensor, fahrenheit: r.celsius * 1.8 + 32 })).sink('fahrenheit');
  readings
    .filter((r) => r.celsius > 30)
    .keyBy((r) => r.sensor, { name: 'by-sensor', shards: 2 })
    .map((r) => `${r.sensor} is hot`)
    .sink('alerts');
  return p;
}

describe('local pipeline against a running endpoint (as with LocalStack)', () => {
  const emulators = useEmulators({ dynamodb: false });
  const dir = mkdtempSync(join(tmpdir(), 'eddy-local-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates prefixed streams there and runs fan-out and several shards per stream to completion', async () => {
    // Prepare
    const input = join(dir, 'readings.jsonl');
    const readings = Array.from({ length: 400 }, (_, i) => ({ sensor: `s${i % 9}`, celsius: (i * 7) % 45 }));
    writeFileSync(input, `${readings.map((r) => JSON.stringify(r)).join('\n')}\n{"sensor": 1}\n`);

    // Act
    const summary = await runPipelineOnFiles({
      pipeline: sensors(),
      endpoint: emulators().kinesisEndpoint,
      streamPrefix: 'it-',
      inputs: [{ stream: 'readings', file: input }],
      outputs: [
        { stream: 'fahrenheit', file: join(dir, 'f.jsonl') },
        { stream: 'alerts', file: join(dir, 'a.jsonl') },
      ],
    });

    // Assess
    const lines = (file: string) =>
      readFileSync(join(dir, file), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    const sorted = (values: unknown[]) => values.map((v) => JSON.stringify(v)).sort();
    expect(sorted(lines('f.jsonl'))).toEqual(
      sorted(readings.map((r) => ({ sensor: r.sensor, fahrenheit: r.celsius * 1.8 + 32 }))),
    );
    expect(sorted(lines('a.jsonl'))).toEqual(
      sorted(readings.filter((r) => r.celsius > 30).map((r) => `${r.sensor} is hot`)),
    );
    expect(
      summary.deadLetters.map((d) => [d.origin?.line, d.envelope.error.reason, d.envelope.error.issues?.[0]?.field]),
    ).toEqual([[401, 'schema-violation', 'sensor']]);
    expect(summary.stages.map((s) => s.mapping.shards.length)).toEqual([3, 2]);
    expect(summary.stages[0]?.stats.invocations).toBeGreaterThanOrEqual(Math.ceil(401 / 7));
  });
});
