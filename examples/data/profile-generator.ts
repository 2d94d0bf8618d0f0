import { seededRandom } from '../../shared/util/random.js';
import { writeLines } from './write-lines.js';

export interface ProfileSampleOptions {
  /** Profile updates to write. */
  readonly updates: number;
  readonly seed?: number;
  /** Users `user-0` to `user-<users - 1>`, as the click generator names them. @default 500 */
  readonly users?: number;
  /** Share of users that never get a profile (their clicks find no row). @default 0.1 */
  readonly unknownRate?: number;
  /** Share of updates that delete the profile. @default 0.05 */
  readonly deleteRate?: number;
}

const COUNTRIES = ['DE', 'FR', 'US', 'BR', 'JP', 'IN', 'NG', 'AU'] as const;
const PLANS = ['free', 'pro', 'team'] as const;

/**
 * Generates a changelog of user profiles as JSON lines: several revisions per user, each with a
 * `revision` that orders them, written out of order (some revisions come after newer ones of their
 * user, some are repeated), some deletes, and some users with no profile at all.
 */
export function* generateProfileLines(options: ProfileSampleOptions): Generator<string> {
  const random = seededRandom(options.seed ?? 7);
  const users = options.users ?? 500;
  const unknownRate = options.unknownRate ?? 0.1;
  const deleteRate = options.deleteRate ?? 0.05;
  const known = Array.from({ length: users }, (_, i) => i).filter(() => random() >= unknownRate);
  const revisions = new Map<number, number>();
  // Updates held back and written later, after newer revisions of their user: out of order.
  const delayed: string[] = [];
  let previous: string | undefined;
  let written = 0;
  while (written < options.updates) {
    let line: string;
    if (previous !== undefined && random() < 0.02) {
      // A repeat of the line before: what a producer's retry writes.
      line = previous;
    } else if (delayed.length > 0 && random() < 0.1) {
      line = delayed.shift() as string;
    } else {
      const user = known[Math.floor(random() * known.length)] ?? 0;
      const revision = (revisions.get(user) ?? 0) + 1;
      revisions.set(user, revision);
      line =
        random() < deleteRate
          ? JSON.stringify({ userId: `user-${user}`, revision, deleted: true })
          : JSON.stringify({
              userId: `user-${user}`,
              revision,
              country: COUNTRIES[Math.floor(random() * COUNTRIES.length)],
              plan: PLANS[Math.floor(random() * PLANS.length)],
            });
      if (random() < 0.1) {
        delayed.push(line);
        continue;
      }
    }
    previous = line;
    written += 1;
    yield line;
  }
  yield* delayed;
}

export async function writeProfileSample(file: string, options: ProfileSampleOptions): Promise<void> {
  await writeLines(file, generateProfileLines(options));
}
