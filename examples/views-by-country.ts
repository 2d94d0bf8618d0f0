import { pipeline } from 'eddy';
import * as z from 'zod';
import { Click } from './page-views.js';

/** A change of a user's profile, as the accounts service writes it to `user-profiles`. */
export const ProfileUpdate = z.object({
  userId: z.string(),
  /** Orders a user's updates: they may arrive out of order and repeated. */
  revision: z.number().int(),
  country: z.string().optional(),
  plan: z.string().optional(),
  deleted: z.boolean().optional(),
});
export type ProfileUpdate = z.infer<typeof ProfileUpdate>;

/**
 * Page views enriched with the viewer's profile (a stream-table join): the profiles' changelog is
 * kept as a table, the newest revision per user, and each view is paired with its user's row. A view
 * of a user with no profile (or a deleted one) counts under country 'unknown' (a left join).
 *
 *   eddy run examples/views-by-country.ts -i user-profiles=profiles.jsonl -i clicks=clicks.jsonl \
 *     -o views-by-country=out.jsonl
 */
const p = pipeline('views-by-country');
const profiles = p
  .source('user-profiles', { schema: ProfileUpdate, shards: 2 })
  .toTable('profiles', { key: (u) => u.userId, version: (u) => u.revision, deleted: (u) => u.deleted === true });

p.source('clicks', { schema: Click, eventTime: (c) => c.ts, shards: 2 })
  .filter((c) => c.kind === 'view')
  .enrich(profiles, { key: (c) => c.user, type: 'left' })
  .map(([view, profile]) => ({
    page: view.page,
    user: view.user,
    ts: view.ts,
    country: profile?.country ?? 'unknown',
    plan: profile?.plan ?? null,
  }))
  .keyBy((view) => view.country)
  .sink('views-by-country');

export default p;
