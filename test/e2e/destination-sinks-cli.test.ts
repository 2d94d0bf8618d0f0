import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eddy } from '../helpers/eddy-cli.js';

/**
 * `eddy run --output <destination>=<file>` on test/e2e/fixtures/order-destinations.ts: what the
 * local stand-in's FIFO queue, bus and delivery stream took, one JSON line each; an order too
 * big for Firehose is dead-lettered naming its size and the delivery stream.
 */
describe('eddy run: message sinks written to files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-destinations-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the queue, the bus and the delivery stream, and dead-letters an oversize message', async () => {
    // Prepare: 60 orders over 3 accounts, one within Kinesis' and SQS's 1 MiB but over Firehose's 1,000 KiB.
    const orders = Array.from({ length: 60 }, (_, n) => ({
      id: n === 7 ? `o7${'x'.repeat(1_024_100)}` : `o${n}`,
      account: `acct-${n % 3}`,
      amount: n,
      ts: 1_700_000_000_000 + n,
    }));
    const input = join(dir, 'orders.jsonl');
    writeFileSync(input, `${orders.map((o) => JSON.stringify(o)).join('\n')}\n`);
    const file = (name: string) => join(dir, `${name}.jsonl`);
    const read = (name: string) =>
      readFileSync(file(name), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);

    // Act
    await eddy(
      'run',
      'test/e2e/fixtures/order-destinations.ts',
      '--input',
      `orders=${input}`,
      ...['orders-by-account.fifo', 'shop-events', 'orders-archive', 'order-destinations-dead-letters'].flatMap(
        (name) => ['--output', `${name}=${file(name)}`],
      ),
    );

    // Assess
    const messages = read('orders-by-account.fifo');
    expect(messages).toHaveLength(60);
    const first = messages.find((m) => (JSON.parse(String(m.body)) as { id: string }).id === 'o0');
    expect(first).toMatchObject({ groupId: 'acct-0', attributes: { eddyId: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(first?.deduplicationId).toBe((first?.attributes as { eddyId?: string } | undefined)?.eddyId);
    const events = read('shop-events');
    expect(events).toHaveLength(10); // amounts 50 to 59
    expect(events[0]).toMatchObject({ source: 'shop.orders', detailType: 'BigOrder' });
    const archived = orders.filter((o) => o.amount !== 7).map((o) => o.id);
    expect(
      read('orders-archive')
        .map((r) => r.id)
        .sort(),
    ).toEqual(archived.sort());
    const letters = read('order-destinations-dead-letters');
    expect(letters).toHaveLength(1);
    expect(JSON.stringify(letters[0])).toMatch(
      /record is \d+ bytes, over 1024000 bytes, for Firehose delivery stream 'orders-archive'/,
    );
  });
});
