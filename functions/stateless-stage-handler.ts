import pipeline from '@eddy/user-pipeline';
import { createStageHandler } from '../shared/runtime/lambda-handler.js';

/**
 * The Lambda entry point of the stages that keep no state and use no table: no DynamoDB, no window,
 * join or process function in its bundle, nor parsed at its cold starts. The stage comes from
 * `EDDY_STAGE_ID`; the pipeline is bundled in.
 */
export const handler = createStageHandler(pipeline);
