import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { createKinesisClient } from '../../local/aws-clients.js';
import { eddy } from '../helpers/eddy-cli.js';
import { useEmulators } from '../helpers/emulators.js';

describe('eddy run: --kinesis-endpoint, --dynamodb-endpoint and --engines', () => {
  const kinesisOnly = useEmulators({ engines: 'kinesalite+dynalite', dynamodb: false });
  const dir = mkdtempSync(join(tmpdir(), 'eddy-cli-endpoints-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses a running Kinesis for the streams and starts DynamoDB embedded for the state', async () => {
    // Prepare
    const input = join(dir, 'clicks.jsonl');
    const output = join(dir, 'counts.jsonl');
    await writeClickSample(input, { events: 300, seed: 5, users: 20, pages: 5, badLineRate: 0 });

    // Act: a windowed pipeline, so state goes to DynamoDB, which kinesalite does not serve.
    const { stdout } = await eddy(
      'run',
      'examples/page-view-counts.ts',
      '--kinesis-endpoint',
      kinesisOnly().kinesisEndpoint,
      '--prefix',
      'endpoints-',
      '--input',
      `clicks=${input}`,
      '--output',
      `page-view-counts=${output}`,
      '--no-progress',
    );

    // Assess
    expect(stdout).toContain('pipeline page-view-counts: 300 input records');
    expect(readFileSync(output, 'utf8').trim().split('\n').length).toBeGreaterThan(0);
    const kinesis = createKinesisClient(kinesisOnly().kinesisEndpoint);
    try {
      const { StreamNames } = await kinesis.send(new ListStreamsCommand({}));
      expect(StreamNames).toContain('endpoints-clicks');
    } finally {
      kinesis.destroy();
    }
  });

  it('refuses an endpoint that is not an http(s) URL, and an unknown engine pair, naming the option', async () => {
    const file = join(dir, 'none.jsonl');

    await expect(
      eddy('run', 'examples/page-views.ts', '-i', `clicks=${file}`, '--dynamodb-endpoint', 'localhost:8000'),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining(
        "option '--dynamodb-endpoint <url>' argument 'localhost:8000' is invalid. expected an http(s) URL",
      ),
    });
    await expect(
      eddy('run', 'examples/page-views.ts', '-i', `clicks=${file}`, '--engines', 'localstack'),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining("option '--engines <pair>' argument 'localstack' is invalid"),
    });
  });
});
