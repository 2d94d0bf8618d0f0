import { describeQueries } from './queries.support.js';

// Stateless queries: one stage each, fused into the source's Lambda.
describeQueries(['q0', 'q1', 'q2']);
