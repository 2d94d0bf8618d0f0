import type { Pipeline } from 'eddy';
import q0 from './q0.js';
import q1 from './q1.js';
import q2 from './q2.js';
import q3 from './q3.js';
import q4 from './q4.js';
import q5 from './q5.js';
import q6 from './q6.js';
import q7 from './q7.js';
import q8 from './q8.js';

export interface NexmarkQuery {
  readonly name: 'q0' | 'q1' | 'q2' | 'q3' | 'q4' | 'q5' | 'q6' | 'q7' | 'q8';
  readonly title: string;
  readonly pipeline: Pipeline;
  /** The stream the query's results go to. */
  readonly sink: string;
  /**
   * Where records too late for the query's windows or join go, one stream per window or join (q5 and
   * q7: phase one's, then phase two's; q4: the join's, then the window's); none for stateless queries.
   */
  readonly lateOutputs?: readonly string[];
}

/** Every query, in Nexmark's order: what the tests and bench/nexmark.ts run. */
export const NEXMARK_QUERIES: readonly NexmarkQuery[] = [
  { name: 'q0', title: 'pass-through', pipeline: q0, sink: 'nexmark-q0' },
  { name: 'q1', title: 'currency conversion', pipeline: q1, sink: 'nexmark-q1' },
  { name: 'q2', title: 'selection', pipeline: q2, sink: 'nexmark-q2' },
  { name: 'q3', title: 'local item suggestion', pipeline: q3, sink: 'nexmark-q3', lateOutputs: ['nexmark-q3-late'] },
  {
    name: 'q4',
    title: 'average price for a category',
    pipeline: q4,
    sink: 'nexmark-q4',
    lateOutputs: ['nexmark-q4-join-late', 'nexmark-q4-late'],
  },
  {
    name: 'q5',
    title: 'hot items',
    pipeline: q5,
    sink: 'nexmark-q5',
    lateOutputs: ['nexmark-q5-late', 'nexmark-q5-partial-late'],
  },
  {
    name: 'q6',
    title: 'average selling price by seller',
    pipeline: q6,
    sink: 'nexmark-q6',
    lateOutputs: ['nexmark-q6-join-late'],
  },
  {
    name: 'q7',
    title: 'highest bid',
    pipeline: q7,
    sink: 'nexmark-q7',
    lateOutputs: ['nexmark-q7-late', 'nexmark-q7-partial-late'],
  },
  { name: 'q8', title: 'monitor new users', pipeline: q8, sink: 'nexmark-q8', lateOutputs: ['nexmark-q8-late'] },
];
