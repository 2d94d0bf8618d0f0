import type { WindowStore } from './io/state-store.js';
import { compileChildren } from './stage-program.js';
import { commitInOrder, type StatefulOperator, type StatefulOperatorFactory } from './stateful-runner.js';
import { WindowStage } from './window-stage.js';

/** The operator of a windowed stage (window-stage.ts), for the stateful runner. */
export const windowOperatorOf: StatefulOperatorFactory<'window'> = (options, window) => {
  const { pipeline, program, state } = options;
  const stage = new WindowStage({
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

function windowOperator(stage: WindowStage, store: Pick<WindowStore, 'commitAll'>): StatefulOperator {
  return {
    process: async (records, decoded, sink) => {
      const batch = await stage.process(records, decoded, sink);
      // Puts before deletes (fixed windows have none; sessions share one item per key and need none).
      return { ...batch, commit: () => commitInOrder(store, [batch.changes, batch.deletes]) };
    },
  };
}
