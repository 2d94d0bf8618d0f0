import { getXRayTraceIdFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import type { MiddlewareObj } from '@middy/core';

/**
 * What a stage function bundles in place of `@aws-lambda-powertools/tracer` (and its `/middleware`)
 * when the pipeline is deployed with `tracing: false` (infra/stage-function.ts, pipelineBundling
 * aliases both to this file): the same calls, none of which records anything, so that neither the
 * X-Ray SDK (with semver and cls-hooked, about 110 KB of the bundle) nor its module init is paid by a
 * function that sends no traces. The root trace id is still read, as Powertools reads it: shuffle
 * packs carry it (`"tr"`, docs/operations.md), whatever the tracing mode.
 */
export class Tracer {
  captureAWSv3Client<T>(client: T): T {
    return client;
  }

  getRootXrayTraceId(): string | undefined {
    return getXRayTraceIdFromEnv();
  }

  putAnnotation(_key: string, _value: string | number | boolean): void {}

  putMetadata(_key: string, _value: unknown, _namespace?: string): void {}
}

/**
 * The middleware of Powertools' tracer, which opens and closes the invocation's segment: nothing to
 * do, but middy takes no middleware without a hook.
 */
export function captureLambdaHandler(_tracer: Tracer, _options?: unknown): MiddlewareObj {
  return { before: () => undefined };
}
