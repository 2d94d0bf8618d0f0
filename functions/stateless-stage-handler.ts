import pipeline from '@eddy/user-pipeline';
import { createLambdaStageHandler } from '../shared/runtime/lambda-handler.js';

/**
 * The Lambda entry point of the stages that keep no state and use no table: functions/stage-handler.ts
 * without DynamoDB, so that its client and stores are not in these functions' bundles, nor parsed at
 * their cold starts. The stage comes from `EDDY_STAGE_ID`; the pipeline is bundled in.
 */
export const handler = createLambdaStageHandler(pipeline);
