import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initProject, packageName } from '../../../cli/init/init.js';
import { sampleClicks } from '../../../cli/init/sample-clicks.js';
import { eddyManifest } from '../../../cli/version.js';

describe('eddy init', () => {
  const root = mkdtempSync(join(tmpdir(), 'eddy-init-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes the project, pinned to the versions Eddy is tested with, and depends on the eddy given', () => {
    const dir = join(root, 'My Pipeline');
    const files = initProject(dir, { eddy: 'file:../eddy-0.1.0.tgz' });

    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'tsconfig.json',
        'cdk.json',
        'pipelines/page-view-counts.ts',
        'test/page-view-counts.test.ts',
        'data/clicks.jsonl',
        'README.md',
      ]),
    );
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const eddy = eddyManifest();
    expect(manifest.name).toBe('my-pipeline');
    expect(manifest.dependencies).toEqual({ eddy: 'file:../eddy-0.1.0.tgz', zod: eddy.dependencies.zod });
    expect(manifest.devDependencies.vitest).toBe(eddy.devDependencies?.vitest);
    expect(JSON.parse(readFileSync(join(dir, 'cdk.json'), 'utf8'))).toEqual({
      app: 'npx eddy cdk-app',
      context: { pipeline: 'pipelines/page-view-counts.ts' },
    });
    expect(readFileSync(join(dir, 'pipelines/page-view-counts.ts'), 'utf8')).toContain("from 'eddy'");
    expect(readFileSync(join(dir, 'test/page-view-counts.test.ts'), 'utf8')).toContain("from 'eddy/testing'");
  });

  it('defaults the eddy dependency to its own version, and refuses a folder that is not empty', () => {
    const dir = join(root, 'second');
    initProject(dir);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies.eddy).toBe(
      `^${eddyManifest().version}`,
    );
    const taken = join(root, 'taken');
    initProject(taken);
    writeFileSync(join(taken, 'notes.txt'), 'mine');
    expect(() => initProject(taken)).toThrow(/not empty/);
    expect(readFileSync(join(taken, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('names the package after the folder, as npm allows', () => {
    expect(packageName('My Pipeline')).toBe('my-pipeline');
    expect(packageName('.hidden')).toBe('hidden');
    expect(packageName('___')).toBe('eddy-pipeline');
  });

  it('samples clicks over every page and minute, no more out of order than the pipeline allows, one bad line', () => {
    const lines = sampleClicks();
    const parsed = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as { page: string; kind: string; ts: number }];
      } catch {
        return [];
      }
    });
    expect(lines.length - parsed.length).toBe(1);
    const windows = new Set(
      parsed.filter((c) => c.kind === 'view').map((c) => `${c.page} ${Math.floor(c.ts / 60_000)}`),
    );
    expect(windows.size).toBeGreaterThanOrEqual(4 * 5);
    let highest = Number.NEGATIVE_INFINITY;
    for (const click of parsed) {
      expect(highest - click.ts).toBeLessThanOrEqual(5_000);
      highest = Math.max(highest, click.ts);
    }
    expect(sampleClicks()).toEqual(lines);
  });
});
