import { count, pipeline, tumbling } from 'eddy';
import * as z from 'zod';

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

/**
 * Views per page per minute, in event time, kept in a DynamoDB table a dashboard reads: one item per
 * page and minute (partition key `page`, sort key `windowStart`). The keyBy before the sink gives it
 * a stage of its own: a table sink runs in a stateless stage, not in the window's.
 */
export default pipeline('page-view-table')
  .source('clicks', { schema: Click, eventTime: (c) => c.ts, maxOutOfOrderness: '5s' })
  .filter((c) => c.kind === 'view')
  .keyBy((c) => c.page)
  .window(tumbling('1m'), { allowedLateness: '30s', lateOutput: 'late-clicks' })
  .aggregate(count())
  .map((r) => ({ page: r.key, windowStart: r.windowStart, windowEnd: r.windowEnd, views: r.value }))
  .keyBy((r) => r.page)
  .toDynamoDb('page-views-per-minute', {
    key: (r) => [r.page, r.windowStart],
    partitionKey: { name: 'page' },
    sortKey: { name: 'windowStart', type: 'number' },
  });
