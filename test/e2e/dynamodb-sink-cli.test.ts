import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/util/random.js';
import { eddy } from '../helpers/eddy-cli.js';

interface OrderUpdate {
  readonly id: string | number;
  readonly status: string;
  readonly updatedAt: number;
  readonly cancelled: boolean;
}

/**
 * `eddy run --output <table>=<file>` on a toDynamoDb sink (test/e2e/fixtures/orders-table.ts): order
 * updates shuffled and repeated, some cancelling their order, one with a numeric id. The file holds
 * the table after the drain: the newest update per order, a tombstone per cancelled order.
 */
describe('eddy run: a DynamoDB table sink written to a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-sink-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the newest item per key, tombstones for deletes, and dead-letters a key of the wrong type', async () => {
    // Prepare: 300 orders, 5 updates each, shuffled, a tenth repeated.
    const random = seededRandom(9);
    const updates: OrderUpdate[] = [];
    for (let order = 0; order < 300; order += 1) {
      for (let step = 0; step < 5; step += 1) {
        const cancelled = step === 4 && order % 7 === 0;
        updates.push({ id: `o${order}`, status: `s${step}`, updatedAt: 1000 + step, cancelled });
      }
    }
    const shuffled = [...updates].sort(() => random() - 0.5);
    const lines = [...shuffled, ...shuffled.filter(() => random() < 0.1)].map((u) => JSON.stringify(u));
    lines.splice(400, 0, JSON.stringify({ id: 17, status: 'numeric', updatedAt: 1, cancelled: false }));
    const input = join(dir, 'updates.jsonl');
    const output = join(dir, 'orders.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);

    // Act
    const { stdout } = await eddy(
      'run',
      'test/e2e/fixtures/orders-table.ts',
      '--input',
      `order-updates=${input}`,
      '--output',
      `orders-by-id=${output}`,
    );

    // Assess
    const items = readFileSync(output, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const byId = new Map(items.map((item) => [item.orderId, item]));
    expect(items).toHaveLength(300);
    for (let order = 0; order < 300; order += 1) {
      const item = byId.get(`o${order}`);
      if (order % 7 === 0) {
        expect(item).toEqual({
          orderId: `o${order}`,
          eddyVersion: 1004,
          eddyTieBreak: expect.any(String),
          eddyDeleted: true,
        });
      } else {
        expect(item).toMatchObject({
          orderId: `o${order}`,
          id: `o${order}`,
          status: 's4',
          updatedAt: 1004,
          eddyVersion: 1004,
        });
      }
    }
    expect(stdout).toContain(
      "partition key 'orderId' must be a string, got number 17, for DynamoDB table 'orders-by-id'",
    );
    expect(stdout).toMatch(/wrote 300 records of orders-by-id to/);
    // Every valid line is a write (no faults: no retry repeats one); the repeats and the older updates
    // read after a newer one are refused, and at least each item's last write was kept.
    const [, writes, refused] = (/table orders-by-id: ([\d,]+) writes, ([\d,]+) refused/.exec(stdout) ?? []).map(
      (figure) => Number(figure.replaceAll(',', '')),
    );
    expect(writes).toBe(lines.length - 1);
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual((writes ?? 0) - 300);
    console.log(`orders-by-id: ${writes} writes, ${refused} refused`);
  });
});
