import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { KinesisClient } from '@aws-sdk/client-kinesis';

/**
 * Names the call and the endpoint in the errors of a local client that no service answered: a
 * request timeout, a refused or cut connection. The SDK's own message (`a request has exceeded the
 * configured 30000 ms requestTimeout`) says neither which of the run's thousands of calls it was
 * nor which emulator, and on a loaded machine that is the first thing to know.
 *
 * The error itself is kept, its message prefixed, so that its name, code and `$metadata` still
 * tell the callers' retry logic what it is. A service's answer (an exception with an HTTP status)
 * is left as it is: it names its own cause.
 *
 * @example
 * nameCallsInErrors(new KinesisClient(config), 'http://127.0.0.1:4567');
 * // TimeoutError: Kinesis PutRecords at http://127.0.0.1:4567, 3 attempt(s): a request has exceeded ...
 */
export function nameCallsInErrors<C extends KinesisClient | DynamoDBClient | DynamoDBStreamsClient>(
  client: C,
  endpoint: string,
): C {
  (client as KinesisClient).middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof Error && !answeredByService(error)) {
          error.message = `${describeCall(context.clientName, context.commandName, endpoint, error)}: ${error.message}`;
        }
        throw error;
      }
    },
    // Outermost: the message is written once, after the SDK's retries gave up.
    { step: 'initialize', priority: 'high', name: 'eddyNameCallsInErrors' },
  );
  return client;
}

/** The SDK puts the HTTP status of an answer in `$metadata`; an error without one never got an answer. */
function answeredByService(error: Error): boolean {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode !== undefined;
}

/** `Kinesis PutRecords at http://127.0.0.1:4567, 3 attempt(s)`. */
export function describeCall(
  clientName: string | undefined,
  commandName: string | undefined,
  endpoint: string,
  error: Error,
): string {
  const service = (clientName ?? 'AWS').replace(/Client$/, '');
  const operation = (commandName ?? 'request').replace(/Command$/, '');
  const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  return `${service} ${operation} at ${endpoint}${attempts === undefined ? '' : `, ${attempts} attempt(s)`}`;
}
