import pipeline from '@eddy/user-pipeline';
import { dynamoDbStores } from '../shared/runtime/io/dynamodb-stores.js';
import { createStageHandler } from '../shared/runtime/lambda-handler.js';
import { statefulRunnerOf } from '../shared/runtime/stateful-runner.js';
import { windowOperatorOf } from '../shared/runtime/stateful-window.js';

/**
 * The Lambda entry point of the windowed stages (a window and the operators fused after it): DynamoDB, and this one stateful
 * operator, so that the other kinds are not in its bundle. The stage comes from `EDDY_STAGE_ID`.
 */
export const handler = createStageHandler(pipeline, {
  loadStores: dynamoDbStores,
  stateful: statefulRunnerOf({ window: windowOperatorOf }),
});
