import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EddyPipeline, type EddyPipelineProps } from './eddy-pipeline.js';

/** Props of {@link EddyPipelineStack}: the stack's own and those of the {@link EddyPipeline} it holds. */
export interface EddyPipelineStackProps extends StackProps, EddyPipelineProps {}

/** A stack that deploys one pipeline. */
export class EddyPipelineStack extends Stack {
  readonly pipeline: EddyPipeline;

  constructor(scope: Construct, id: string, props: EddyPipelineStackProps) {
    super(scope, id, {
      ...props,
      description: props.description ?? `Eddy stream processing pipeline '${props.pipeline.name}'`,
    });
    this.pipeline = new EddyPipeline(this, 'Pipeline', props);
  }
}
