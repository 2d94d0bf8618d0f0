/** Flink 2.0 on nexmark's V2 setup (GUIDE_V2.md): throughput / cores, events per second per core. */
export const FLINK_PER_CORE: Readonly<Record<string, { perCore: number; source: string }>> = {
  q0: { perCore: 379_000, source: '2.65 M/s on 7 cores' },
  q1: { perCore: 395_000, source: '2.86 M/s on 7.24 cores' },
  q2: { perCore: 414_000, source: '2.95 M/s on 7.13 cores' },
  q3: { perCore: 219_000, source: '1.9 M/s on 8.69 cores' },
  q4: { perCore: 28_000, source: '347.84 K/s on 12.33 cores' },
  q5: { perCore: 75_000, source: '920.4 K/s on 12.35 cores' },
  q7: { perCore: 23_000, source: '262.46 K/s on 11.45 cores' },
  q8: { perCore: 162_000, source: '2.08 M/s on 12.83 cores' },
};

/**
 * A query's Flink figure as a bench row's baseline, or, for a query nexmark's Flink SQL does not run
 * (q6: its OVER window of the last 10 rows is not supported), a baseline that says so and no value.
 */
export function flinkBaseline(
  query: string,
  measured: number,
  exact: boolean,
): { baseline: string; baselineValue?: number; ratio?: number } {
  const flink = FLINK_PER_CORE[query];
  if (flink === undefined) return { baseline: `none: nexmark's Flink SQL does not run ${query}` };
  return {
    baseline: `Flink 2.0 per core, nexmark GUIDE_V2 (${flink.source})`,
    baselineValue: flink.perCore,
    ...(exact && { ratio: Number((measured / flink.perCore).toFixed(4)) }),
  };
}
