/** A mistake in a pipeline definition, found while the pipeline is built or planned. */
export class PipelineDefinitionError extends Error {
  override readonly name = 'PipelineDefinitionError';

  constructor(
    message: string,
    /** The operator (node name) the mistake is about, when there is one. */
    readonly operator?: string,
    options?: ErrorOptions,
  ) {
    super(operator === undefined ? message : `${operator}: ${message}`, options);
  }
}
