import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGE_MEMORY_MB, lambdaHeapFlags } from '../../../shared/util/lambda-memory.js';

describe('lambdaHeapFlags', () => {
  it("gives the heap Lambda's bootstrap gives a 1,024 MB function: a tenth young, half of it per semi-space", () => {
    expect(lambdaHeapFlags(1024)).toEqual(['--max-semi-space-size=51', '--max-old-space-size=922']);
    expect(lambdaHeapFlags()).toEqual(lambdaHeapFlags(DEFAULT_STAGE_MEMORY_MB));
  });

  it('rounds down as the shell arithmetic of the bootstrap does', () => {
    expect(lambdaHeapFlags(128)).toEqual(['--max-semi-space-size=6', '--max-old-space-size=116']);
    expect(lambdaHeapFlags(10_240)).toEqual(['--max-semi-space-size=512', '--max-old-space-size=9216']);
  });
});
