import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PipelineDefinitionError, pipeline } from '../../../shared/index.js';
import {
  assertSecretsInEnvironment,
  clearLoadedSecrets,
  environmentSecretLoader,
  loadSecrets,
  pipelineSecrets,
  SecretUnavailableError,
  secret,
  secretEnvironmentVariable,
  secretValue,
  ssmParameterSelector,
  stageSecrets,
  usesSecrets,
} from '../../../shared/operators/secrets.js';
import { mask, tokenize } from '../../../shared/operators/sensitive-fields.js';

afterEach(() => clearLoadedSecrets());

const Click = z.object({ user: z.string(), page: z.string(), email: z.string() });
const KEY_32 = 'x'.repeat(32);

describe('secret references', () => {
  it('name an SSM parameter, optionally a pinned version, and hold no value', () => {
    // Act
    const latest = secret('/eddy/token-key');
    const pinned = secret('/eddy/token-key', { version: 3 });
    const shared = secret('arn:aws:ssm:eu-west-1:123456789012:parameter/team/token-key');

    // Assess
    expect(latest).toEqual({ source: 'ssm', name: '/eddy/token-key', id: 'ssm:/eddy/token-key' });
    expect(pinned.id).toBe('ssm:/eddy/token-key:3');
    expect(ssmParameterSelector(latest)).toBe('/eddy/token-key');
    expect(ssmParameterSelector(pinned)).toBe('/eddy/token-key:3');
    expect(shared.name).toBe('arn:aws:ssm:eu-west-1:123456789012:parameter/team/token-key');
    expect(Object.isFrozen(latest)).toBe(true);
  });

  it('refuse names SSM would refuse, when the pipeline is built', () => {
    expect(() => secret('')).toThrow(PipelineDefinitionError);
    expect(() => secret('/eddy/token key')).toThrow(/SSM parameter name/);
    expect(() => secret('eddy/token-key')).toThrow(/must begin with \//);
    expect(() => secret('/aws/token')).toThrow(/reserved/);
    expect(() => secret('ssm-key')).toThrow(/reserved/);
    expect(() => secret('/eddy/key', { version: 0 })).toThrow(/positive integer/);
  });

  it('are read locally from EDDY_SECRET_ and the name in capitals', async () => {
    // Prepare
    const ref = secret('/eddy/token-key');
    const env = { EDDY_SECRET_EDDY_TOKEN_KEY: 'from-env' };

    // Act
    const value = await environmentSecretLoader(env)(ref);

    // Assess
    expect(secretEnvironmentVariable(ref)).toBe('EDDY_SECRET_EDDY_TOKEN_KEY');
    expect(secretEnvironmentVariable(secret('plain.name_2'))).toBe('EDDY_SECRET_PLAIN_NAME_2');
    expect(secretEnvironmentVariable(secret('arn:aws:ssm:eu-west-1:123456789012:parameter/team/k'))).toBe(
      'EDDY_SECRET_TEAM_K',
    );
    expect(value).toBe('from-env');
    await expect(environmentSecretLoader({})(ref)).rejects.toThrow(
      'secret ssm:/eddy/token-key is read from the environment locally, and EDDY_SECRET_EDDY_TOKEN_KEY is not set',
    );
  });
});

describe('loading secrets', () => {
  it('loads each secret once and serves it to synchronous operator code', async () => {
    // Prepare
    const ref = secret('/eddy/token-key');
    const calls: string[] = [];
    const loader = async (r: typeof ref) => {
      calls.push(r.id);
      return KEY_32;
    };

    // Act
    await loadSecrets([{ secret: ref }, { secret: ref, minBytes: 32 }], loader);
    await loadSecrets([{ secret: ref }], loader);

    // Assess
    expect(calls).toEqual(['ssm:/eddy/token-key']);
    expect(secretValue(ref)).toBe(KEY_32);
  });

  it('fails with every problem named, the operator that needs the secret included, and keeps what loaded', async () => {
    // Prepare
    const good = secret('/eddy/good');
    const missing = secret('/eddy/missing');
    const short = secret('/eddy/short');
    const loader = async (ref: typeof good) => {
      if (ref === missing) throw new Error(`parameter ${ref.name} not found`);
      return ref === short ? 'tiny' : KEY_32;
    };

    // Act
    const loading = loadSecrets(
      [
        { secret: good },
        { secret: missing, usedBy: 'tokenize (user)' },
        { secret: short, minBytes: 32, usedBy: 'tokenize (email)' },
      ],
      loader,
    );

    // Assess
    await expect(loading).rejects.toThrow(SecretUnavailableError);
    await expect(loading).rejects.toThrow(
      'parameter /eddy/missing not found (used by tokenize (user)); secret ssm:/eddy/short (used by tokenize (email)) ' +
        'is 4 bytes; it needs at least 32',
    );
    expect(secretValue(good)).toBe(KEY_32);
    expect(() => secretValue(missing)).toThrow(/is not loaded/);
  });

  it('refuses an empty value', async () => {
    const ref = secret('/eddy/empty');
    await expect(loadSecrets([{ secret: ref }], async () => '')).rejects.toThrow('secret ssm:/eddy/empty is empty');
  });
});

describe('the secrets of a pipeline', () => {
  function tokenized() {
    const key = secret('/eddy/token-key');
    const p = pipeline('tokenized');
    p.source('clicks', { schema: Click })
      .map(mask(['email']))
      .map(tokenize(['user'], { key }))
      .keyBy((c) => c.user)
      .map((c) => ({ user: c.user, page: c.page }))
      .sink('by-user');
    return { p, key };
  }

  it('are listed per stage: only the stage whose operators use them', () => {
    // Prepare
    const { p, key } = tokenized();
    const [first, second] = p.plan().stages;

    // Act
    const firstSecrets = stageSecrets(p.graph, first as NonNullable<typeof first>);
    const secondSecrets = stageSecrets(p.graph, second as NonNullable<typeof second>);

    // Assess
    expect(firstSecrets.map((use) => use.secret)).toEqual([key]);
    // The second stage starts at the keyBy, whose key function ran in the first stage.
    expect(secondSecrets).toEqual([]);
    expect(pipelineSecrets(p.graph).map((use) => use.secret.id)).toEqual(['ssm:/eddy/token-key']);
  });

  it('include a secret a user function declares, after a keyBy, once per id', () => {
    // Prepare
    const salt = secret('/eddy/salt');
    const p = pipeline('declared');
    p.source('clicks', { schema: Click })
      .keyBy((c) => c.page)
      .map(
        usesSecrets(
          (c: z.infer<typeof Click>) => ({ ...c, salted: `${secretValue(salt)}:${c.user}` }),
          [{ secret: salt }],
        ),
      )
      .map(usesSecrets((c) => c, [{ secret: salt, minBytes: 16 }]))
      .sink('salted');

    // Act
    const [first, second] = p.plan().stages.map((stage) => stageSecrets(p.graph, stage));

    // Assess
    expect(first).toEqual([]);
    expect(second).toEqual([{ secret: salt, minBytes: 16 }]);
  });

  it('must all be in the environment for a local run, or one error names every variable', () => {
    // Prepare
    const { p } = tokenized();

    // Act & Assess
    expect(() => assertSecretsInEnvironment(p.graph, {})).toThrow(
      "pipeline 'tokenized' needs secrets that locally come from the environment; set EDDY_SECRET_EDDY_TOKEN_KEY " +
        '(for ssm:/eddy/token-key, used by tokenize (user))',
    );
    expect(() => assertSecretsInEnvironment(p.graph, { EDDY_SECRET_EDDY_TOKEN_KEY: KEY_32 })).not.toThrow();
  });
});
