import pipeline from '@eddy/user-pipeline';
import { dynamoDbStores } from '../shared/runtime/io/dynamodb-stores.js';
import { createLambdaStageHandler } from '../shared/runtime/lambda-handler.js';

/**
 * The Lambda entry point that runs any stage: every stateful operator and DynamoDB (infra picks a
 * leaner one per stage kind, handlerEntryOf; this one serves a pipeline's `handlerEntry` and wraps
 * of it). Which stage a function runs comes from its environment (`EDDY_STAGE_ID`, set by the CDK
 * construct); the pipeline itself is bundled in.
 */
export const handler = createLambdaStageHandler(pipeline, { loadStores: dynamoDbStores });
