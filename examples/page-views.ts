import { pipeline } from 'eddy';
import * as z from 'zod';

/** A click on a web page, as the site's tracker writes it to the `clicks` stream. */
export const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });
export type Click = z.infer<typeof Click>;

export default pipeline('page-views')
  .source('clicks', { schema: Click, eventTime: (c) => c.ts })
  .filter((c) => c.kind === 'view')
  .map((c) => ({ page: c.page, user: c.user, ts: c.ts }))
  .keyBy((v) => v.page)
  .sink('page-views-by-page');
