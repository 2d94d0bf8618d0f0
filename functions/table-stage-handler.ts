import pipeline from '@eddy/user-pipeline';
import { dynamoDbStores } from '../shared/runtime/io/dynamodb-stores.js';
import { createStageHandler } from '../shared/runtime/lambda-handler.js';

/**
 * The Lambda entry point of the stages that use tables (`enrich`, `toTable`, `toDynamoDb`) and keep
 * no state: DynamoDB, without the window, join and process function operators.
 */
export const handler = createStageHandler(pipeline, { loadStores: dynamoDbStores });
