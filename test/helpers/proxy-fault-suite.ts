import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import type { EnginePair } from '../../local/emulators/index.js';
import { useEmulators } from './emulators.js';
import type { FaultCase } from './fault-cases.js';
import { startFaultProxy } from './fault-proxy.js';
import { describeStages, PAGE_VIEW_COUNTS_LATE as LATE, runPageViewCounts } from './pipeline-run.js';

export interface ProxyFaultSuiteOptions {
  readonly engines: EnginePair;
  readonly cases: readonly FaultCase[];
  /** Clicks per run. */
  readonly events: number;
  /** Each run's backstop; a run fails sooner when nothing moved for runPipeline's stall limit (60 s). */
  readonly timeoutMs: number;
}

/**
 * examples/page-view-counts.ts with every call of its stages, their event source mappings and the
 * state store going through the fault proxy (test/helpers/fault-proxy.ts), one fault type per run,
 * on one engine pair. The input is fed and the outputs read past the proxy. Every window must equal
 * the batch computation: nothing lost, nothing counted twice. Call inside a describe block.
 */
export function proxyFaultSuite({ engines, cases, events, timeoutMs }: ProxyFaultSuiteOptions): void {
  const emulators = useEmulators({ engines });
  const dir = mkdtempSync(join(tmpdir(), 'eddy-proxy-faults-'));
  const input = join(dir, 'clicks.jsonl');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeClickSample(input, { events, seed: 31, users: 200, pages: 20, badLineRate: 0.002 });
  });

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, { rules, atLeast }) => {
      // Prepare: one proxy in front of both engines, routed on X-Amz-Target.
      const proxy = await startFaultProxy({
        upstream: { kinesis: emulators().kinesisEndpoint, dynamodb: emulators().dynamodbEndpoint ?? '' },
        rules,
        seed: 17,
      });
      try {
        // Act
        const { run, comparison } = await runPageViewCounts({
          endpoint: proxy.endpoint,
          dynamodbEndpoint: proxy.endpoint,
          directKinesisEndpoint: emulators().kinesisEndpoint,
          input,
        });

        // Assess
        const counts = proxy.counts();
        console.log(
          `${engines}: ${run.fed} clicks in ${(run.elapsedMs / 1000).toFixed(1)} s; rule hits ${JSON.stringify(counts.byLabel)}; ` +
            `faults injected: ${JSON.stringify(counts.faults)}` +
            (counts.partialRecords.failed > 0 ? `; records failed ${counts.partialRecords.failed}` : '') +
            `\n${comparison.windows} windows, ${comparison.repeats} repeated results, ${comparison.lost} records lost, ` +
            `${comparison.duplicated} counted twice\n${describeStages(run.stages)}`,
        );
        for (const difference of comparison.differences) console.log(difference);
        for (const [label, minimum] of Object.entries(atLeast)) {
          expect(counts.byLabel[label] ?? 0, `hits of '${label}'`).toBeGreaterThanOrEqual(minimum);
        }
        expect(comparison.differences).toEqual([]);
        expect(run.outputs.get(LATE)).toEqual([]);
        expect(run.failedBatches).toEqual([]);
      } finally {
        await proxy.stop();
      }
    },
    timeoutMs,
  );
}
