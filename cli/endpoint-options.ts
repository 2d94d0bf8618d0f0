import { type Command, InvalidArgumentError, Option } from 'commander';
import { enginePairs } from '../local/emulators/engine-pairs.js';

function url(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new InvalidArgumentError(`expected an http(s) URL such as http://localhost:4566, got '${value}'`);
  }
  return value;
}

/**
 * The options that say where Kinesis and DynamoDB are (EndpointOptions): one endpoint for both
 * (LocalStack), one per service, or the embedded engines, whichever pair.
 */
export function addEndpointOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 'a running endpoint that serves Kinesis and DynamoDB (LocalStack)', url)
    .option('--kinesis-endpoint <url>', 'a running Kinesis endpoint (overrides --endpoint for Kinesis)', url)
    .option('--dynamodb-endpoint <url>', 'a running DynamoDB endpoint (overrides --endpoint for DynamoDB)', url)
    .addOption(
      new Option(
        '--engines <pair>',
        'the embedded engines started for what has no endpoint (default: EDDY_ENGINES)',
      ).choices(enginePairs),
    );
}
