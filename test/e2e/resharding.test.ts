import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import { feedJsonLines } from '../../local/runner/input-feeder.js';
import { LocalPipeline } from '../../local/runner/local-pipeline.js';
import { tumbling } from '../../shared/windows/index.js';
import { waitUntil } from '../helpers/emulators.js';
import {
  describeStages,
  PAGE_VIEW_COUNTS_LATE as LATE,
  PAGE_VIEW_COUNTS_SINK as SINK,
} from '../helpers/pipeline-run.js';
import { endInputOnOpenShards, listShards, mergeShards, openShards, splitShard } from '../helpers/reshard.js';
import { compareWindows, type WindowResult } from '../helpers/window-check.js';
import { reference, views } from '../reference/windows.js';

const SOURCE_STAGE = 'from-clicks';
const WINDOWED_STAGE = 'from-page-view-counts-keyBy-1';
const EVENTS = 6_000;
const CHUNKS = 4;

/**
 * Resharding while examples/page-view-counts.ts runs: the source stream and the shuffle stream are
 * split and merged (SplitShard / MergeShards: what UpdateShardCount does) between chunks of input
 * while both stages are busy. The event source mappings follow parents before children; the stages
 * route by the shards open now and count channels over them. Every window must equal the batch
 * computation: nothing lost, nothing counted twice, nothing stuck behind a closed shard.
 *
 * Three faults this test found in shared/runtime, and their fixes, are in docs/reliability.md
 * ("Resharding").
 */
describe('resharding the source and shuffle streams while the windowed pipeline runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-reshard-'));
  const input = join(dir, 'clicks.jsonl');
  const chunk = (i: number) => join(dir, `clicks-${i}.jsonl`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeClickSample(input, { events: EVENTS, seed: 71, users: 300, pages: 30 });
    const lines = readFileSync(input, 'utf8').trimEnd().split('\n');
    const size = Math.ceil(lines.length / CHUNKS);
    for (let i = 0; i < CHUNKS; i += 1)
      writeFileSync(chunk(i), `${lines.slice(i * size, (i + 1) * size).join('\n')}\n`);
  });

  /** Feeds the input in chunks and reshards the named streams between them; drains; compares. */
  async function runWithResharding(reshard: { source: boolean; shuffle: boolean }) {
    const local = await LocalPipeline.start({ pipeline: pageViewCounts });
    try {
      const kinesis = local.kinesis;
      const source = local.physicalName('clicks');
      const shuffle = local.physicalName('page-view-counts-keyBy-1');
      const taken = (stage: string) => local.status().find((s) => s.stage.id === stage)?.stats.recordsIn ?? 0;
      let fed = 0;
      const feed = async (i: number) => {
        fed += (await feedJsonLines(kinesis, source, chunk(i))).records;
        // Reshard while the stages are busy: once the source stage has started on this chunk.
        await waitUntil(() => taken(SOURCE_STAGE) > fed - 1_000, 'the source stage works on the chunk', {
          timeoutMs: 60_000,
          progress: () => local.status(),
        });
      };
      const ids = async (stream: string) => (await openShards(kinesis, stream)).map((s) => s.ShardId ?? '');

      await feed(0);
      await waitUntil(() => taken(WINDOWED_STAGE) > 0, 'the windowed stage has started', {
        timeoutMs: 60_000,
        progress: () => local.status(),
      });
      // 1 -> 2 shards.
      if (reshard.source) await splitShard(kinesis, source, (await ids(source))[0] ?? '');
      if (reshard.shuffle) await splitShard(kinesis, shuffle, (await ids(shuffle))[0] ?? '');
      await feed(1);
      // Source: 2 -> 3 (split the lower half); shuffle: 2 -> 1 (merge them back).
      if (reshard.source) await splitShard(kinesis, source, (await ids(source))[0] ?? '');
      const [low, high] = await ids(shuffle);
      if (reshard.shuffle) await mergeShards(kinesis, shuffle, low ?? '', high ?? '');
      await feed(2);
      // Source: 3 -> 2 (merge the two upper shards); shuffle: 1 -> 2 again.
      const open = await ids(source);
      if (reshard.source) await mergeShards(kinesis, source, open[1] ?? '', open[2] ?? '');
      if (reshard.shuffle) await splitShard(kinesis, shuffle, (await ids(shuffle))[0] ?? '');
      await feed(3);
      await endInputOnOpenShards(kinesis, source);
      await local.waitUntilDrained({ stallLimitMs: 60_000 });

      const read = async (stream: string) =>
        (await local.readStream(stream)).map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')) as unknown);
      const expected = reference(
        views(input),
        (c) => c.page,
        tumbling('1m'),
        () => 1,
      );
      const comparison = compareWindows((await read(SINK)) as WindowResult[], expected);
      const shards = async (stream: string) => (await listShards(kinesis, stream)).length;
      console.log(
        `${fed} clicks; source stream ${await shards(source)} shards (${(await ids(source)).length} open), ` +
          `shuffle stream ${await shards(shuffle)} shards (${(await ids(shuffle)).length} open); ` +
          `${comparison.windows} windows, ${comparison.repeats} repeated results, ${comparison.lost} lost, ` +
          `${comparison.duplicated} counted twice\n${describeStages(local.status())}\n` +
          local
            .status()
            .map(
              (s) =>
                `${s.stage.id}: watermark ${s.stats.watermark}, ${s.stats.duplicates} records dropped as repeats, ` +
                `shards ${s.mapping.shards.map((x) => `${x.shardId}:${x.state}`).join(' ')}`,
            )
            .join('\n'),
      );
      for (const difference of comparison.differences.slice(0, 10)) console.log(difference);
      return { fed, comparison, late: await read(LATE), failed: local.failedBatches };
    } finally {
      await local.stop();
    }
  }

  // KNOWN TO FAIL until shared/ retires the channels of closed source shards (docs/reliability.md,
  // "Resharding"): the closed parent's last watermark stays in the windowed stage's minimum, the
  // watermark stops there, and every window after it is never emitted. Flip to `it` once fixed.
  it('source stream split and merged while running: every window equals the batch computation', async () => {
    const { fed, comparison, late, failed } = await runWithResharding({ source: true, shuffle: false });

    expect(fed).toBe(EVENTS);
    expect(comparison.differences).toEqual([]);
    expect(late).toEqual([]);
    expect(failed).toEqual([]);
  });

  // KNOWN TO FAIL until shared/ adopts windows timed on finished parent shards and drops packs a
  // stale shard list sent to the wrong shard (docs/reliability.md, "Resharding"): windows left on a
  // closed parent never fire, and two lanes of one channel merged into one shard lose envelopes as
  // false repeats. Flip to `it` once fixed.
  it('shuffle stream split and merged while running: every window equals the batch computation', async () => {
    const { fed, comparison, late, failed } = await runWithResharding({ source: false, shuffle: true });

    expect(fed).toBe(EVENTS);
    expect(comparison.differences).toEqual([]);
    expect(late).toEqual([]);
    expect(failed).toEqual([]);
  });
});
