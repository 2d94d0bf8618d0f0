/**
 * The embedded engine pairs a local stack can run on. Both speak the real Kinesis and DynamoDB JSON
 * APIs; they differ in speed, start time and coverage (docs/local-engines.md).
 */
export const enginePairs = ['kinesalite+dynalite', 'kinesis-mock+dynamodb-local'] as const;

export type EnginePair = (typeof enginePairs)[number];

/** The pair used when none is named: pure Node, in memory, the fastest to start and to run. */
export const defaultEnginePair: EnginePair = 'kinesalite+dynalite';

/** `EDDY_ENGINES` names the pair for a whole shell (a CI job, say) without changing every command. */
export function enginePairFromEnvironment(env: NodeJS.ProcessEnv = process.env): EnginePair {
  const named = env.EDDY_ENGINES;
  if (named === undefined || named === '') return defaultEnginePair;
  return parseEnginePair(named, 'EDDY_ENGINES');
}

export function parseEnginePair(value: string, where: string): EnginePair {
  const pair = enginePairs.find((candidate) => candidate === value);
  if (pair === undefined) {
    throw new Error(`${where}: unknown engine pair '${value}' (expected one of: ${enginePairs.join(', ')})`);
  }
  return pair;
}
