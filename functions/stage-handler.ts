import pipeline from '@eddy/user-pipeline';
import { createLambdaStageHandler } from '../shared/runtime/lambda-handler.js';

/**
 * The Lambda entry point of every stage. Which stage a function runs comes from its environment
 * (`EDDY_STAGE_ID`, set by the CDK construct); the pipeline itself is bundled in.
 */
export const handler = createLambdaStageHandler(pipeline);
