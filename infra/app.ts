import { App } from 'aws-cdk-lib';
import { addPipelineStack } from './pipeline-app.js';

/**
 * The CDK app: `cdk deploy -c pipeline=<file> [-c stage=<dev, prod, ...>] [-c prefix=<name prefix>]`
 * deploys the pipeline that file default-exports; the context it reads is in infra/pipeline-app.ts.
 */
const app = new App();
await addPipelineStack(app);
app.synth();
