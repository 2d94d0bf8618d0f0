export {
  type DriverStep,
  PipelineTestDriver,
  type PipelineTestDriverOptions,
  type PipeOptions,
  TestInput,
} from './pipeline-test-driver.js';
export { TestOutput } from './test-output.js';
