/** Flink 2.0 on nexmark's V2 setup (GUIDE_V2.md): throughput / cores, events per second per core. */
export const FLINK_PER_CORE: Record<string, { perCore: number; source: string }> = {
  q0: { perCore: 379_000, source: '2.65 M/s on 7 cores' },
  q1: { perCore: 395_000, source: '2.86 M/s on 7.24 cores' },
  q2: { perCore: 414_000, source: '2.95 M/s on 7.13 cores' },
  q3: { perCore: 219_000, source: '1.9 M/s on 8.69 cores' },
  q5: { perCore: 75_000, source: '920.4 K/s on 12.35 cores' },
  q7: { perCore: 23_000, source: '262.46 K/s on 11.45 cores' },
  q8: { perCore: 162_000, source: '2.08 M/s on 12.83 cores' },
};
