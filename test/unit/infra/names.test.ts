import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deploymentName, physicalNamePrefix } from '../../../infra/names.js';

const name = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);

describe('physicalNamePrefix and deploymentName', () => {
  it('derives distinct prefixes for distinct (pipeline, stage) pairs', () => {
    fc.assert(
      fc.property(
        name,
        fc.option(name, { nil: undefined }),
        name,
        fc.option(name, { nil: undefined }),
        (p1, s1, p2, s2) => {
          fc.pre(p1 !== p2 || s1 !== s2);
          // Physical names are prefix + the pipeline's own name: distinct prefixes ending in '-', with no '_'
          // in names, keep them apart.
          expect(physicalNamePrefix(p1, s1)).not.toBe(physicalNamePrefix(p2, s2));
        },
      ),
    );
  });

  it('names the deployment of a derived prefix as the CDK app names the stack', () => {
    expect(deploymentName('page-views', physicalNamePrefix('page-views'))).toBe('Eddy-page-views');
    expect(deploymentName('page-views', physicalNamePrefix('page-views', 'dev'))).toBe('Eddy-dev-page-views');
    expect(deploymentName('page-views', 'dev')).toBe('Eddy-dev-page-views');
    expect(deploymentName('page-views', 'dev_')).toBe('Eddy-dev-page-views');
  });

  it('refuses a stage that would make invalid physical names, naming it', () => {
    expect(() => physicalNamePrefix('clicks', 'dev/1')).toThrow(/stage "dev\/1" is invalid/);
  });
});
