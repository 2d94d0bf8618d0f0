/**
 * Dedupe's batch reference over a whole input in which no identity is forgotten (`within` longer than
 * the input): per user, each identity's records. Any of them may be the one a dedupe keeps; the
 * identities are exact.
 */
export function referenceDedupe<V extends { readonly user: string }>(
  visits: readonly V[],
  identity: (v: V) => string,
): Map<string, Set<string>> {
  const kept = new Map<string, Set<string>>();
  for (const visit of visits) {
    const name = `${visit.user}|${identity(visit)}`;
    kept.set(name, (kept.get(name) ?? new Set()).add(JSON.stringify(visit)));
  }
  return kept;
}
