import { type FaultRule, owingHits } from './fault-proxy.js';

/**
 * The fault types, one rule set each, for runs of examples/page-view-counts.ts through the fault
 * proxy: test/e2e/proxy-faults.test.ts runs them small, bench/fault-suite.ts at 50,000+ events.
 */

/** The shuffle stream the stateless source stage writes and the windowed stage reads. */
export const PAGE_VIEW_COUNTS_SHUFFLE = 'page-view-counts-keyBy-1';

const PUT_RECORDS = 'Kinesis_20131202.PutRecords';
/** Every other API the pipeline's stages, mappings and state store call while records flow. */
const READS_AND_STATE = [
  'Kinesis_20131202.GetRecords',
  'DynamoDB_20120810.UpdateItem',
  'DynamoDB_20120810.BatchGetItem',
  'DynamoDB_20120810.Query',
  'DynamoDB_20120810.PutItem',
  'DynamoDB_20120810.GetItem',
];
const STATE_WRITES = ['DynamoDB_20120810.UpdateItem', 'DynamoDB_20120810.PutItem'];
const onShuffle = ({ body }: { body: Readonly<Record<string, unknown>> }) =>
  String(body.StreamName ?? '').endsWith(PAGE_VIEW_COUNTS_SHUFFLE);

export interface FaultCase {
  /** A short name, for tables. */
  readonly id: string;
  readonly name: string;
  readonly rules: FaultRule[];
  /** Hits each labelled rule must have made, so that the run tested what it says. */
  readonly atLeast: Readonly<Record<string, number>>;
}

const cases: readonly FaultCase[] = [
  {
    id: 'throttling',
    name: 'throttling (400 ProvisionedThroughputExceededException) of every call',
    rules: [
      { label: 'PutRecords', kind: 'throttle', targets: [PUT_RECORDS], rate: 0.5 },
      { label: 'reads and state', kind: 'throttle', targets: READS_AND_STATE, rate: 0.2 },
    ],
    atLeast: { PutRecords: 5, 'reads and state': 20 },
  },
  {
    id: '500/503',
    name: '500 InternalFailure and 503 ServiceUnavailable on every call',
    rules: [
      { label: 'PutRecords 500', kind: 'internalError', targets: [PUT_RECORDS], rate: 0.25 },
      { label: 'PutRecords 503', kind: 'unavailable', targets: [PUT_RECORDS], rate: 0.3 },
      { label: 'reads and state 500', kind: 'internalError', targets: READS_AND_STATE, rate: 0.1 },
      { label: 'reads and state 503', kind: 'unavailable', targets: READS_AND_STATE, rate: 0.1 },
    ],
    atLeast: { 'PutRecords 500': 2, 'PutRecords 503': 2, 'reads and state 500': 5, 'reads and state 503': 5 },
  },
  {
    id: 'cut after, all writes',
    name: 'connections cut after the call took effect, on every write (shuffle PutRecords included)',
    rules: [
      { label: 'shuffle PutRecords', kind: 'cutAfterForward', targets: [PUT_RECORDS], rate: 0.5, when: onShuffle },
      { label: 'other writes', kind: 'cutAfterForward', targets: [PUT_RECORDS, ...STATE_WRITES], rate: 0.15 },
    ],
    atLeast: { 'shuffle PutRecords': 3, 'other writes': 5 },
  },
  {
    id: 'cut after, state + window writes',
    name: 'connections cut after the call took effect, on state calls and the windowed stage’s writes only',
    rules: [
      {
        label: 'sink PutRecords',
        kind: 'cutAfterForward',
        targets: [PUT_RECORDS],
        rate: 0.5,
        when: (call) => !onShuffle(call),
      },
      {
        label: 'state',
        kind: 'cutAfterForward',
        targets: [...STATE_WRITES, 'DynamoDB_20120810.BatchGetItem'],
        rate: 0.15,
      },
    ],
    atLeast: { state: 5 },
  },
  {
    id: 'partial PutRecords',
    name: 'PutRecords partial failures (the failed records not written)',
    rules: [
      { label: 'PutRecords', kind: 'partialPutRecords', targets: [PUT_RECORDS], rate: 0.6, recordFailureRate: 0.5 },
    ],
    atLeast: { PutRecords: 5 },
  },
];

/** Each labelled rule hits at least the calls its case asserts, when the run makes enough calls. */
export const faultCases: readonly FaultCase[] = cases.map((c) => ({ ...c, rules: owingHits(c.rules, c.atLeast) }));
