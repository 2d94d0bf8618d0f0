import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../shared/index.js';
import { processBatch } from '../../../shared/runtime/batch-processor.js';
import { addOperatorCounts, type OperatorCount } from '../../../shared/runtime/operator-counts.js';
import { OperatorMetricNames, operatorMetricDocuments } from '../../../shared/runtime/operator-metrics.js';
import { compileStage } from '../../../shared/runtime/stage-program.js';
import { Order, orderPayload, toOrderRecords } from '../../helpers/order-payloads.js';

/** source → filter → flatMap → map (throws on qty 13) → filter (qty > 2) → keyBy, all fused in one stage. */
function orderLines() {
  const p = pipeline('orders');
  p.source('orders', { schema: Order })
    .filter((o) => o.items.length > 0)
    .flatMap((o) => o.items.map((item) => ({ order: o.id, ...item })))
    .map((line) => {
      if (line.qty === 13) throw new Error('unlucky quantity');
      return { ...line, total: line.qty * 2 };
    })
    .filter((line) => line.qty > 2)
    .keyBy((line) => line.sku)
    .sink('lines');
  return p;
}

type Counts = { -readonly [K in Exclude<keyof OperatorCount, 'id'>]: number };
const zero = (): Counts => ({ recordsIn: 0, recordsOut: 0, filtered: 0, deadLettered: 0, late: 0 });

/** The same chain as a plain loop, counting per operator without Eddy. */
function independentCount(payloads: string[]): Counts[] {
  const [source, nonEmpty, lines, totals, big, key] = [zero(), zero(), zero(), zero(), zero(), zero()];
  for (const payload of payloads) {
    source.recordsIn += 1;
    let order: Order;
    try {
      order = Order.parse(JSON.parse(payload));
    } catch {
      source.deadLettered += 1;
      continue;
    }
    source.recordsOut += 1;
    nonEmpty.recordsIn += 1;
    if (order.items.length === 0) {
      nonEmpty.filtered += 1;
      continue;
    }
    nonEmpty.recordsOut += 1;
    lines.recordsIn += 1;
    lines.recordsOut += order.items.length;
    for (const item of order.items) {
      totals.recordsIn += 1;
      if (item.qty === 13) {
        totals.deadLettered += 1;
        continue;
      }
      totals.recordsOut += 1;
      big.recordsIn += 1;
      if (item.qty <= 2) {
        big.filtered += 1;
        continue;
      }
      big.recordsOut += 1;
      key.recordsIn += 1;
      key.recordsOut += 1;
    }
  }
  return [source, nonEmpty, lines, totals, big, key];
}

describe('per-operator counts (property-based)', () => {
  const p = orderLines();
  const [stage] = p.plan().stages;
  if (stage === undefined) throw new Error('no stage');
  const program = compileStage(p.graph, stage);
  const context = { pipeline: 'orders', deadLetterStream: 'orders-dead-letters', now: () => 0 };

  it('counts each fused operator apart, as a plain loop over the input does, however it is batched', () => {
    fc.assert(
      fc.property(
        fc.array(orderPayload, { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1 }),
        (payloads, cuts) => {
          const records = toOrderRecords(payloads);
          let totals: OperatorCount[] = [];
          let stageIn = 0;
          let stageOut = 0;
          let stageFiltered = 0;
          let stageDeadLettered = 0;
          for (let start = 0, c = 0; start < records.length; c += 1) {
            const size = cuts[c % cuts.length] ?? 1;
            const result = processBatch(program, records.slice(start, start + size), context);
            totals = addOperatorCounts(totals, result.operators);
            stageIn += result.counts.recordsIn;
            stageOut += result.counts.recordsOut;
            stageFiltered += result.counts.filtered;
            stageDeadLettered += result.counts.deadLettered;
            start += size;
          }
          const want = independentCount(payloads);
          if (records.length === 0) return;
          expect(totals.map((t) => t.id)).toEqual(stage.nodes);
          expect(totals.map(({ id: _, ...counts }) => counts)).toEqual(want);
          // The stage's counts are the operators' summed: in at the input, out at the writer, the rest anywhere.
          const sum = (field: keyof Counts) => totals.reduce((total, t) => total + t[field], 0);
          expect(totals[0]?.recordsIn).toBe(stageIn);
          expect(totals.at(-1)?.recordsOut).toBe(stageOut);
          expect(sum('filtered')).toBe(stageFiltered);
          expect(sum('deadLettered')).toBe(stageDeadLettered);
          // Every one-to-one operator: in = out + filtered + dead-lettered.
          for (const t of totals.filter((_, i) => stage.nodes[i] !== 'flatMap-1')) {
            expect(t.recordsIn, t.id).toBe(t.recordsOut + t.filtered + t.deadLettered);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes one EMF document per operator, with the operator as a dimension and 5 metrics', () => {
    const counts: OperatorCount[] = stage.nodes.map((id, i) => ({
      id,
      recordsIn: i + 10,
      recordsOut: i,
      filtered: 1,
      deadLettered: 2,
      late: 0,
    }));
    const documents = operatorMetricDocuments(counts, {
      namespace: 'Eddy',
      pipeline: 'orders',
      stage: stage.id,
      timestamp: 1_700_000_000_000,
    }).map((line) => JSON.parse(line));
    expect(documents).toHaveLength(stage.nodes.length);
    for (const [i, document] of documents.entries()) {
      const [directive] = document._aws.CloudWatchMetrics;
      expect(directive.Namespace).toBe('Eddy');
      expect(directive.Dimensions).toEqual([['service', 'pipeline', 'stage', 'operator']]);
      expect(directive.Metrics.map((m: { Name: string }) => m.Name)).toEqual(Object.values(OperatorMetricNames));
      expect(directive.Metrics.length).toBeLessThanOrEqual(100);
      expect(document).toMatchObject({
        service: 'orders',
        pipeline: 'orders',
        stage: stage.id,
        operator: stage.nodes[i],
        OperatorRecordsIn: i + 10,
        OperatorRecordsOut: i,
        OperatorRecordsFiltered: 1,
        OperatorRecordsDeadLettered: 2,
        OperatorRecordsLate: 0,
      });
    }
  });
});
