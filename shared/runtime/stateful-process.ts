import type { WindowStore } from './io/state-store.js';
import { ProcessStage } from './process-stage.js';
import { compileChildren } from './stage-program.js';
import { commitInOrder, type StatefulOperator, type StatefulOperatorFactory } from './stateful-runner.js';

/** The operator of a process function's stage (process-stage.ts), for the stateful runner. */
export const processOperatorOf: StatefulOperatorFactory<'process'> = (options, node) => {
  const { pipeline, program, state } = options;
  const stage = new ProcessStage({
    stage: program.stage,
    node,
    store: state,
    downstream: compileChildren(pipeline.graph, node.name, program.operators),
    now: options.now,
    producers: options.producers,
    shards: options.shards,
  });
  return { operator: processOperator(stage, state), node: node.name, lateOutput: undefined, watermarkHoldBack: 0 };
};

/** A process function's batch: one conditional put per key touched or fired. */
function processOperator(stage: ProcessStage, store: Pick<WindowStore, 'commitAll'>): StatefulOperator {
  return {
    process: async (records, decoded, sink) => {
      const batch = await stage.process(records, decoded, sink);
      return {
        ...batch,
        counts: { ...batch.counts, repeats: batch.repeats },
        commit: () => commitInOrder(store, [batch.changes]),
      };
    },
  };
}
