import { describe } from 'vitest';
import { faultCases } from '../helpers/fault-cases.js';
import { proxyFaultSuite } from '../helpers/proxy-fault-suite.js';

/**
 * The fault-proxy runs of proxy-faults.test.ts, every fault type, on kinesis-mock and DynamoDB
 * Local, with fewer clicks: that pair's PutRecords slows down as its shards fill (docs/local-engines.md).
 */
describe('page-view-counts through a fault-injecting proxy on kinesis-mock + DynamoDB Local: every window equals the batch computation', () => {
  proxyFaultSuite({ engines: 'kinesis-mock+dynamodb-local', cases: faultCases, events: 4_000, timeoutMs: 900_000 });
});
