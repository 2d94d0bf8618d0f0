/**
 * The views-by-country example's semantics written out by hand, without Eddy or zod: the profiles'
 * changelog reduced to the newest revision per user, then each valid view looked up in it.
 */
import { expectedPageViews } from './page-views.js';

export interface CountryView {
  page: string;
  user: string;
  ts: number;
  country: string;
  plan: string | null;
}

interface Profile {
  userId: string;
  revision: number;
  country?: string;
  plan?: string;
  deleted?: boolean;
}

/** Each user's newest profile revision, deleted ones left out. */
export function profileTable(profileLines: readonly string[]): Map<string, Profile> {
  const newest = new Map<string, Profile>();
  for (const line of profileLines) {
    if (line.trim() === '') continue;
    const update = JSON.parse(line) as Profile;
    const current = newest.get(update.userId);
    if (current === undefined || update.revision >= current.revision) newest.set(update.userId, update);
  }
  for (const [user, profile] of newest) if (profile.deleted === true) newest.delete(user);
  return newest;
}

export function expectedCountryViews(clickLines: readonly string[], profileLines: readonly string[]): CountryView[] {
  const table = profileTable(profileLines);
  return expectedPageViews(clickLines).views.map((view) => {
    const profile = table.get(view.user);
    return { ...view, country: profile?.country ?? 'unknown', plan: profile?.plan ?? null };
  });
}
