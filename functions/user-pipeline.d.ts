/**
 * The user's pipeline module. At bundle time esbuild aliases this specifier to the pipeline file
 * being deployed (`--alias:@eddy/user-pipeline=<file>`, set by infra/), so one handler source
 * serves every pipeline.
 */
declare module '@eddy/user-pipeline' {
  import type { Pipeline } from '../shared/index.js';

  const pipeline: Pipeline;
  export default pipeline;
}
