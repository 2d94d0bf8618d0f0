/**
 * The name of one deployment of a pipeline: `Eddy-<pipeline>`, or `Eddy-<prefix>-<pipeline>` with a
 * stream name prefix (its characters other than letters, digits and `-` replaced by `-`). The stack,
 * the dashboard and the alarms carry it, so that copies of a pipeline that differ by prefix do not
 * collide. Dashboard names allow letters, digits, `-` and `_`; pipeline names are letters, digits and `-`.
 */
export function deploymentName(pipelineName: string, prefix: string | undefined): string {
  const tag = prefix?.replace(/[^a-zA-Z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return tag ? `Eddy-${tag}-${pipelineName}` : `Eddy-${pipelineName}`;
}
