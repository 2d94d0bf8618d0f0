import { Tracer as PowertoolsTracer } from '@aws-lambda-powertools/tracer';
import middy from '@middy/core';
import * as fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLambdaHandler, Tracer } from '../../../functions/untraced-tracer.js';

const TRACE_ENV = '_X_AMZN_TRACE_ID';
const saved = process.env[TRACE_ENV];

afterEach(() => {
  if (saved === undefined) delete process.env[TRACE_ENV];
  else process.env[TRACE_ENV] = saved;
});

describe('the tracer bundled when tracing is off (functions/untraced-tracer.ts)', () => {
  it("reads the root trace id as Powertools' tracer does, whatever the header", () => {
    const powertools = new PowertoolsTracer({ serviceName: 'test', enabled: false });
    const untraced = new Tracer();
    const field = fc.stringMatching(/^[0-9a-f-]{0,20}$/);
    const header = fc.oneof(
      fc.tuple(field, field, fc.constantFrom('0', '1')).map(([r, p, s]) => `Root=1-${r};Parent=${p};Sampled=${s}`),
      field,
      fc.constant(''),
    );
    fc.assert(
      fc.property(fc.option(header, { nil: undefined }), (value) => {
        if (value === undefined) delete process.env[TRACE_ENV];
        else process.env[TRACE_ENV] = value;
        expect(untraced.getRootXrayTraceId()).toBe(powertools.getRootXrayTraceId());
      }),
    );
    process.env[TRACE_ENV] = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    expect(untraced.getRootXrayTraceId()).toBe('1-5759e988-bd862e3fe1be46a994272793');
  });

  it('leaves clients as they are and the handler as it is', async () => {
    const tracer = new Tracer();
    const client = { send: () => 'sent' };
    expect(tracer.captureAWSv3Client(client)).toBe(client);
    tracer.putAnnotation('stage', 'from-clicks');
    tracer.putMetadata('inputPositions', { records: 1 });
    const handler = middy(async (event: { n: number }) => ({ doubled: event.n * 2 })).use(captureLambdaHandler(tracer));
    await expect(handler({ n: 21 }, {} as never)).resolves.toEqual({ doubled: 42 });
    const failing = middy(async () => {
      throw new Error('batch failed');
    }).use(captureLambdaHandler(tracer));
    await expect(failing({}, {} as never)).rejects.toThrow('batch failed');
  });
});
