import { describe } from 'vitest';
import { faultCases } from '../helpers/fault-cases.js';
import { proxyFaultSuite } from '../helpers/proxy-fault-suite.js';

describe('page-view-counts through a fault-injecting proxy on kinesalite + dynalite: every window equals the batch computation', () => {
  proxyFaultSuite({ engines: 'kinesalite+dynalite', cases: faultCases, events: 5_000, timeoutMs: 900_000 });
});
