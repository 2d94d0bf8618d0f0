import { expect } from 'vitest';
import type { StoredMessage } from '../../local/destinations/destination-stand-in.js';
import { DESTINATION_ID_FIELD } from '../../shared/sinks/destinations.js';

/** A record of the order fixtures (test/e2e/fixtures/order-destinations.ts, order-messages.ts). */
export interface Order {
  readonly id: string;
  readonly account: string;
  readonly amount: number;
  readonly ts: number;
}

/** What one destination took, against what the pipeline should have sent it. */
export interface DestinationFigures {
  /** Messages, events or records the destination holds. */
  readonly taken: number;
  /** Distinct ids among them: the pipeline's outputs. */
  readonly distinct: number;
  /** Repeats: each carries the id (and value) of an output taken before. */
  readonly duplicates: number;
}

/**
 * Checks a message sink's effect against the pipeline's reference output (`expected`, one output per
 * order): every output taken at least once; an id always with the same value; the distinct ids
 * exactly the outputs. `exactlyOnce` (SQS FIFO within its deduplication interval): no repeat at all.
 */
export function expectDelivered(
  name: string,
  taken: readonly { readonly id: string; readonly order: Order }[],
  expected: readonly Order[],
  options: { readonly exactlyOnce?: boolean } = {},
): DestinationFigures {
  const byId = new Map<string, Order>();
  for (const { id, order } of taken) {
    expect(byId.get(id) ?? order, `${name}: id ${id} with two values`).toEqual(order);
    byId.set(id, order);
  }
  const ids = (orders: Iterable<Order>) => [...orders].map((order) => order.id).sort();
  expect(ids(byId.values()), `${name}: the outputs delivered`).toEqual(ids(expected));
  const figures = { taken: taken.length, distinct: byId.size, duplicates: taken.length - byId.size };
  if (options.exactlyOnce === true) expect(figures.duplicates, `${name}: repeats`).toBe(0);
  return figures;
}

/** An SQS message's id (its `eddyId` attribute) and order; a FIFO message's group must be its account. */
export function queued(messages: readonly StoredMessage[], fifo: boolean): { id: string; order: Order }[] {
  return messages.map((message) => {
    const order = JSON.parse(message.body) as Order;
    const id = message.attributes[DESTINATION_ID_FIELD] ?? '';
    if (fifo) {
      expect(message.groupId).toBe(order.account);
      expect(message.deduplicationId).toBe(id);
    }
    return { id, order };
  });
}

/** An EventBridge detail's or a Firehose line's id, and the order without it. */
export function withId(records: readonly (Order & { readonly eddyId: string })[]): { id: string; order: Order }[] {
  return records.map(({ eddyId, ...order }) => ({ id: eddyId, order }));
}
