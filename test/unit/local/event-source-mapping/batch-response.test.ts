import { describe, expect, it } from 'vitest';
import { interpretBatchResponse } from '../../../../local/event-source-mapping/index.js';
import { sequenceNumber, shardRecords } from './records.js';

const batch = shardRecords(5);

describe('interpretBatchResponse', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('treats %s as success', (_, response) => {
    expect(interpretBatchResponse(response, batch)).toEqual({ kind: 'success' });
  });

  it('resumes from the lowest failed sequence number, whatever the list order', () => {
    // Prepare
    const response = {
      batchItemFailures: [{ itemIdentifier: sequenceNumber(3) }, { itemIdentifier: sequenceNumber(1) }],
    };

    // Act
    const verdict = interpretBatchResponse(response, batch);

    // Assess
    expect(verdict).toEqual({ kind: 'partial', failedIndex: 1 });
  });

  it.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a wrong key name', { batchItemFailures: [{ itemId: sequenceNumber(1) }] }],
    ['a sequence number outside the batch', { batchItemFailures: [{ itemIdentifier: sequenceNumber(9) }] }],
    ['a number instead of a string', { batchItemFailures: [{ itemIdentifier: 1 }] }],
    ['a list that is not an array', { batchItemFailures: { itemIdentifier: sequenceNumber(1) } }],
    ['a null entry', { batchItemFailures: [null] }],
    ['a string response', 'failed'],
    ['an array response', []],
  ])('fails the whole batch for %s', (_, response) => {
    expect(interpretBatchResponse(response, batch)).toMatchObject({ kind: 'failure' });
  });

  it('fails the whole batch when one of several identifiers is invalid', () => {
    const response = { batchItemFailures: [{ itemIdentifier: sequenceNumber(2) }, { itemIdentifier: '' }] };
    expect(interpretBatchResponse(response, batch)).toMatchObject({ kind: 'failure' });
  });
});
