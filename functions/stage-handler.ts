import pipeline from '@eddy/user-pipeline';
import { dynamoDbStores } from '../shared/runtime/io/dynamodb-stores.js';
import { createLambdaStageHandler } from '../shared/runtime/lambda-handler.js';

/**
 * The Lambda entry point of the stages that keep state or use tables (and of every stage, when the
 * pipeline's `handlerEntry` says so). Which stage a function runs comes from its environment
 * (`EDDY_STAGE_ID`, set by the CDK construct); the pipeline itself is bundled in.
 */
export const handler = createLambdaStageHandler(pipeline, { loadStores: dynamoDbStores });
