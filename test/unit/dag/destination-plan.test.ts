import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';

const Order = z.object({ id: z.string(), account: z.string() });

describe('toSqs, toEventBridge, toFirehose in the plan', () => {
  it('plans each destination with its writer stage, FIFO from the name, existing from an ARN', () => {
    const orders = pipeline('p').source('orders', { schema: Order });
    orders.keyBy((o) => o.account).toSqs('alerts.fifo');
    orders.toEventBridge('arn:aws:events:eu-west-1:123456789012:event-bus/shop', { detailType: 'D', source: 's' });
    const plan = orders.toFirehose('archive').plan();
    expect(plan.destinations).toEqual([
      { name: 'alerts.fifo', service: 'sqs', fifo: true, writers: ['from-p-keyBy-1'] },
      {
        name: 'shop',
        service: 'eventbridge',
        detailType: 'D',
        source: 's',
        existing: { arn: 'arn:aws:events:eu-west-1:123456789012:event-bus/shop' },
        writers: ['from-orders'],
      },
      { name: 'archive', service: 'firehose', writers: ['from-orders'] },
    ]);
    expect(plan.stages.map((stage) => [stage.id, stage.destinations, stage.outputs])).toEqual([
      ['from-orders', ['shop', 'archive'], ['p-keyBy-1', 'p-dead-letters']],
      ['from-p-keyBy-1', ['alerts.fifo'], ['p-dead-letters']],
    ]);
    expect(plan.streams.map((stream) => stream.name)).not.toContain('archive');
  });

  it('refuses what the services would: names, FIFO mismatches, sources of AWS, a name taken by a stream', () => {
    const orders = () => pipeline('p').source('orders', { schema: Order });
    expect(() => orders().toSqs('bad name')).toThrow(/queue name 'bad name' must be 1 to 80/);
    expect(() => orders().toSqs('alerts', { fifo: true })).toThrow(/ends in .fifo/);
    expect(() => orders().toSqs('alerts', { group: (o) => o.id })).toThrow(/group is for FIFO queues only/);
    expect(() => orders().toEventBridge('shop', { detailType: 'D', source: 'aws.orders' })).toThrow(/aws\./);
    expect(() => orders().toEventBridge('default', { detailType: 'D', source: 's' })).toThrow(/not 'default'/);
    expect(() => orders().toFirehose('x'.repeat(65))).toThrow(/1 to 64/);
    expect(() => orders().toFirehose('orders')).toThrow(/'orders' is already a stream/);
  });
});
