import { pipeline, sum, tumbling } from 'eddy';
import * as z from 'zod';

const Order = z.object({ id: z.string(), customer: z.string(), amount: z.number(), ts: z.number() });

/**
 * An orders table's changes, read from its DynamoDB stream, feed two things:
 * - a view of each customer's spend per hour, in event time, kept in a DynamoDB table a dashboard
 *   reads (partition key `customer`, sort key `windowStart`): an insert adds the order's amount, a
 *   change of amount adds the difference, a deleted (cancelled) order takes its amount back;
 * - an `OrderCancelled` event on an EventBridge bus for each deleted order, for rules to route.
 * A change counts at the time of its order (`ts`), so a cancellation reaches the hour it was placed
 * in while that window is still open (5 minutes out of order plus 10 minutes allowed lateness).
 */
const changes = pipeline('order-changes').source('orders', {
  dynamoDbStream: { table: 'orders', partitionKey: { name: 'id' } },
  schema: Order,
  eventTime: (change) => (change.newImage ?? change.oldImage)?.ts ?? 0,
  maxOutOfOrderness: '5m',
});

changes
  .map((change) => ({
    customer: (change.newImage ?? change.oldImage)?.customer ?? '',
    delta: (change.newImage?.amount ?? 0) - (change.oldImage?.amount ?? 0),
  }))
  .keyBy((d) => d.customer)
  .window(tumbling('1h'), { allowedLateness: '10m', lateOutput: 'late-order-changes' })
  .aggregate(sum((d: { delta: number }) => d.delta))
  .map((r) => ({ customer: r.key, windowStart: r.windowStart, windowEnd: r.windowEnd, spend: r.value }))
  // A table sink runs in a stateless stage: the keyBy gives it one, after the window's.
  .keyBy((r) => r.customer)
  .toDynamoDb('customer-spend-per-hour', {
    key: (r) => [r.customer, r.windowStart],
    partitionKey: { name: 'customer' },
    sortKey: { name: 'windowStart', type: 'number' },
  });

export default changes
  .filter((change) => change.eventName === 'REMOVE')
  .map((change) => ({ orderId: change.keys.id, customer: change.oldImage?.customer, amount: change.oldImage?.amount }))
  .toEventBridge('shop-events', { detailType: 'OrderCancelled', source: 'shop.orders' });
