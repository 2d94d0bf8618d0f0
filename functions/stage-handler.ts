import pipeline from '@eddy/user-pipeline';
import { dynamoDbStores } from '../shared/runtime/io/dynamodb-stores.js';
import { createLambdaStageHandler } from '../shared/runtime/lambda-handler.js';

/**
 * The Lambda entry point that runs any stage: every stateful operator and DynamoDB. Infra builds each
 * stage from the leaner entry point of its kind (handlerEntryOf); this one is for a stage whose kind
 * the construct cannot tell (a plan-only stand-in) and for custom entry points to copy. Which stage
 * a function runs comes from its environment (`EDDY_STAGE_ID`, set by the CDK construct); the
 * pipeline itself is bundled in.
 */
export const handler = createLambdaStageHandler(pipeline, { loadStores: dynamoDbStores });
