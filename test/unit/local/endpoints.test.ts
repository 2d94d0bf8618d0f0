import { describe, expect, it } from 'vitest';
import { enginePairFromEnvironment } from '../../../local/emulators/index.js';
import { externalEndpoints } from '../../../local/endpoints.js';

describe('externalEndpoints: which services a local run finds running, and which it starts', () => {
  it('starts both when nothing names an endpoint', () => {
    expect(externalEndpoints({}, {})).toEqual({ kinesis: undefined, dynamodb: undefined });
  });

  it('uses one --endpoint (LocalStack) for both services, and AWS_ENDPOINT_URL likewise', () => {
    expect(externalEndpoints({ endpoint: 'http://a:4566' }, {})).toEqual({
      kinesis: 'http://a:4566',
      dynamodb: 'http://a:4566',
    });
    expect(externalEndpoints({}, { AWS_ENDPOINT_URL: 'http://b:4566' })).toEqual({
      kinesis: 'http://b:4566',
      dynamodb: 'http://b:4566',
    });
  });

  it('lets a service endpoint override the shared one, for that service only', () => {
    expect(externalEndpoints({ endpoint: 'http://a', dynamodbEndpoint: 'http://d' }, {})).toEqual({
      kinesis: 'http://a',
      dynamodb: 'http://d',
    });
    expect(externalEndpoints({ kinesisEndpoint: 'http://k' }, {})).toEqual({
      kinesis: 'http://k',
      dynamodb: undefined,
    });
    expect(externalEndpoints({}, { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_DYNAMODB: 'http://d' })).toEqual({
      kinesis: 'http://a',
      dynamodb: 'http://d',
    });
  });

  it('prefers options to the environment, and reads an empty value as none', () => {
    expect(externalEndpoints({ kinesisEndpoint: 'http://k' }, { AWS_ENDPOINT_URL_KINESIS: 'http://e' }).kinesis).toBe(
      'http://k',
    );
    expect(externalEndpoints({ endpoint: '' }, { AWS_ENDPOINT_URL: '' })).toEqual({
      kinesis: undefined,
      dynamodb: undefined,
    });
  });
});

describe('enginePairFromEnvironment', () => {
  it('defaults to kinesalite+dynalite and takes either pair from EDDY_ENGINES', () => {
    expect(enginePairFromEnvironment({})).toBe('kinesalite+dynalite');
    expect(enginePairFromEnvironment({ EDDY_ENGINES: '' })).toBe('kinesalite+dynalite');
    expect(enginePairFromEnvironment({ EDDY_ENGINES: 'kinesis-mock+dynamodb-local' })).toBe(
      'kinesis-mock+dynamodb-local',
    );
  });

  it('refuses an unknown pair, naming the variable and the choices', () => {
    expect(() => enginePairFromEnvironment({ EDDY_ENGINES: 'localstack' })).toThrow(
      "EDDY_ENGINES: unknown engine pair 'localstack' (expected one of: kinesalite+dynalite, kinesis-mock+dynamodb-local)",
    );
  });
});
