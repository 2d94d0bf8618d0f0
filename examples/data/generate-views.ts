/**
 * Writes clicks and a changelog of user profiles as JSON lines, for `eddy run examples/views-by-country.ts`:
 *
 *   npx tsx examples/data/generate-views.ts --clicks 50000 --updates 20000 [--seed 3]
 *     [--clicks-out clicks.jsonl] [--profiles-out profiles.jsonl]
 */
import { parseArgs } from 'node:util';
import { writeClickSample } from './click-generator.js';
import { writeProfileSample } from './profile-generator.js';

const { values } = parseArgs({
  options: {
    clicks: { type: 'string', default: '50000' },
    updates: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '3' },
    'clicks-out': { type: 'string', default: 'clicks.jsonl' },
    'profiles-out': { type: 'string', default: 'profiles.jsonl' },
  },
});
const seed = Number(values.seed);
const clicksFile = values['clicks-out'] ?? 'clicks.jsonl';
const profilesFile = values['profiles-out'] ?? 'profiles.jsonl';
// 600 users click; profiles exist for most of the first 500: some views find no profile.
await writeClickSample(clicksFile, { events: Number(values.clicks), seed, users: 600 });
await writeProfileSample(profilesFile, { updates: Number(values.updates), seed: seed + 1, users: 500 });
console.log(
  `wrote ${values.clicks} clicks to ${clicksFile} and about ${values.updates} profile updates to ${profilesFile}`,
);
