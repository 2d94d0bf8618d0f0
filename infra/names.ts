/**
 * The name of one deployment of a pipeline: `Eddy-<pipeline>`, or `Eddy-<tag>-<pipeline>` with a stage
 * or a stream name prefix as the tag (its characters other than letters, digits and `-` replaced by
 * `-`). The stack, the dashboard and the alarms carry it, so that copies of a pipeline that differ by
 * stage or prefix do not collide. Dashboard names allow letters, digits, `-` and `_`; pipeline names
 * are letters, digits and `-`.
 */
export function deploymentName(pipelineName: string, tag: string | undefined): string {
  const cleaned = withoutPipelineName(tag?.replace(/[^a-zA-Z0-9-]/g, '-').replace(/^-+|-+$/g, ''), pipelineName);
  return cleaned ? `Eddy-${cleaned}-${pipelineName}` : `Eddy-${pipelineName}`;
}

/**
 * A tag made from a {@link physicalNamePrefix} (`dev-page-views-`) ends with the pipeline's name, which
 * the deployment name carries already: `Eddy-dev-page-views`, the stack's name, not `Eddy-dev-page-views-page-views`.
 */
function withoutPipelineName(tag: string | undefined, pipelineName: string): string | undefined {
  if (tag === pipelineName) return '';
  return tag?.endsWith(`-${pipelineName}`) ? tag.slice(0, -pipelineName.length - 1) : tag;
}

/** Stage names: what physical names of every kind (streams, tables, queues, stacks) allow. */
const STAGE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;

/**
 * The prefix of the physical names of one deployment (streams, state and materialized tables, the
 * dead-letter queue): `<pipeline>-`, or `<stage>_<pipeline>-` with a stage (`dev`, `prod`), so that
 * two pipelines, and one pipeline in two stages, deploy into one account and region without sharing
 * a name. (Two pipelines both with a stream `clicks` would otherwise both create a stream `clicks`.)
 * Neither pipeline names nor stages contain `_`, so `dev_clicks-` cannot also be an unstaged pipeline's
 * (`dev-clicks-` could: a pipeline named `dev-clicks`). Kinesis, DynamoDB and SQS names all allow `_`.
 * External tables keep the names the pipeline gives them.
 */
export function physicalNamePrefix(pipelineName: string, stage?: string): string {
  if (stage === undefined) return `${pipelineName}-`;
  if (!STAGE_NAME.test(stage)) {
    throw new Error(
      `stage ${JSON.stringify(stage)} is invalid: use letters, digits and '-', starting with a letter or digit`,
    );
  }
  return `${stage}_${pipelineName}-`;
}
