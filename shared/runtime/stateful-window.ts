import type { WindowStore } from './io/state-store.js';
import { compileChildren } from './stage-program.js';
import { commitInOrder, type StatefulOperator, type StatefulOperatorFactory } from './stateful-runner.js';
import { type WindowBatch, WindowStage, type WindowStageOptions } from './window-stage.js';

/** What a windowed stage may be told beside what the runner gives every stateful operator. */
export type WindowStageSettings = Pick<WindowStageOptions, 'maxBatchRecords'>;

/** The operator of a windowed stage (window-stage.ts), for the stateful runner. */
export const windowOperatorOf: StatefulOperatorFactory<'window'> = (options, window) =>
  windowOperatorWith({})(options, window);

/** What the runner drives of a windowed stage: {@link WindowStage}, or a test's frozen earlier one. */
export interface WindowBatches {
  process(...args: Parameters<WindowStage['process']>): Promise<WindowBatch>;
}

/**
 * {@link windowOperatorOf} with settings (a test's event source mapping that cuts smaller batches
 * than Lambda's sets `maxBatchRecords` to its own limit), and the stage to run.
 */
export const windowOperatorWith =
  (
    settings: WindowStageSettings,
    stageOf: (options: WindowStageOptions) => WindowBatches = (options) => new WindowStage(options),
  ): StatefulOperatorFactory<'window'> =>
  (options, window) => {
    const { pipeline, program, state } = options;
    const stage = stageOf({
      ...settings,
      shards: options.shards,
      stage: program.stage,
      window,
      store: state,
      downstream: compileChildren(pipeline.graph, window.name, program.operators),
      now: options.now,
      producers: options.producers,
    });
    return {
      operator: windowOperator(stage, state),
      node: window.name,
      lateOutput: window.lateOutput,
      watermarkHoldBack: window.allowedLateness,
    };
  };

function windowOperator(stage: WindowBatches, store: Pick<WindowStore, 'commitAll'>): StatefulOperator {
  return {
    process: async (records, decoded, sink) => {
      const batch = await stage.process(records, decoded, sink);
      // Puts before deletes (fixed windows have none; sessions share one item per key and need none).
      return { ...batch, commit: () => commitInOrder(store, [batch.changes, batch.deletes]) };
    },
  };
}
