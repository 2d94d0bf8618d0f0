import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { CreateStreamCommand, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../local/aws-clients.js';
import { startEmulators } from '../../local/emulators/index.js';

const temporaryFolders = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('eddy-emulators-')));

describe("the emulators' temporary-disk store", () => {
  it('keeps the data in a fresh folder under the temporary directory while running, and removes it on stop', async () => {
    const before = temporaryFolders();
    const emulators = await startEmulators({ store: 'temporary-disk' });
    const kinesis = createKinesisClient(emulators.kinesisEndpoint);
    try {
      const created = [...temporaryFolders()].filter((name) => !before.has(name));
      expect(created).toHaveLength(1);
      const folder = created[0] ?? '';
      expect(readdirSync(`${tmpdir()}/${folder}`).sort()).toEqual(['dynamodb', 'emulators.lock', 'kinesis']);
      await kinesis.send(new CreateStreamCommand({ StreamName: 'kept-on-disk', ShardCount: 1 }));
      expect((await kinesis.send(new ListStreamsCommand({}))).StreamNames).toContain('kept-on-disk');
      await emulators.stop();
      expect(temporaryFolders().has(folder)).toBe(false);
    } finally {
      kinesis.destroy();
      await emulators.stop();
    }
  });
});
