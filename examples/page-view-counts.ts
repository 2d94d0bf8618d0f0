import { count, pipeline, tumbling } from 'eddy';
import * as z from 'zod';

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

/** Views per page per minute, in event time; clicks more than 30 s late for their minute go to late-clicks. */
export default pipeline('page-view-counts')
  .source('clicks', { schema: Click, eventTime: (c) => c.ts, maxOutOfOrderness: '5s' })
  .filter((c) => c.kind === 'view')
  .keyBy((c) => c.page)
  .window(tumbling('1m'), { allowedLateness: '30s', lateOutput: 'late-clicks' })
  .aggregate(count())
  .sink('page-view-counts');
