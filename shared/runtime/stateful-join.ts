import { joinWatermarkHoldBack } from '../joins/join-operator.js';
import type { JoinStore } from './io/join-store.js';
import type { WatermarkStore } from './io/state-store.js';
import { JoinBufferCache } from './join-buffer-cache.js';
import { JoinStage, joinSpecOf } from './join-stage.js';
import type { InputRecord } from './records.js';
import { compileChildren } from './stage-program.js';
import type { StatefulOperator, StatefulOperatorFactory } from './stateful-runner.js';

/** The operator of an interval or window join's stage (join-stage.ts), for the stateful runner. */
export const joinOperatorOf: StatefulOperatorFactory<'join'> = (options, join) => {
  const { pipeline, program, state } = options;
  const stage = new JoinStage({
    stage: program.stage,
    join,
    watermarks: state,
    buffers: state,
    downstream: compileChildren(pipeline.graph, join.name, program.operators),
    producers: options.producers,
    cache: new JoinBufferCache(),
    shards: options.shards,
  });
  return {
    operator: joinOperator(stage, state, program.stage.id),
    node: join.name,
    lateOutput: join.lateOutput,
    watermarkHoldBack: joinWatermarkHoldBack(joinSpecOf(join)),
  };
};

/**
 * A join's batch: its buffer writes, after a claim that moves the shard's channel watermarks version
 * first, so that whoever cached the shard's buffers sees that someone wrote them, even if this batch
 * crashes among its writes (join-buffer-cache.ts).
 */
function joinOperator(
  stage: JoinStage,
  store: Pick<JoinStore, 'writeBuffered'> & Pick<WatermarkStore, 'saveWatermarks'>,
  stageId: string,
): StatefulOperator {
  return {
    process: async (records, decoded, sink) => {
      const batch = await stage.process(records, decoded, sink);
      const shardId = (records[0] as InputRecord).position.shardId;
      let channelsVersion = batch.channelsVersion;
      return {
        ...batch,
        get channelsVersion() {
          return channelsVersion;
        },
        counts: { late: batch.counts.late, duplicates: batch.counts.duplicates, repeats: batch.repeats },
        commit: async () => {
          if (batch.puts.length === 0) return;
          const { loaded } = batch;
          // The channels and positions as loaded, saved again: only the version moves.
          const claimed = await store.saveWatermarks(
            stageId,
            shardId,
            loaded?.channels ?? {},
            channelsVersion,
            loaded?.positions,
          );
          channelsVersion = claimed.version;
          await store.writeBuffered(stageId, batch.puts, []);
        },
        committed: (version) =>
          batch.cached?.commit(
            stage.spec,
            batch.puts.map((put) => put.record),
            version,
            batch.watermark,
          ),
        abandoned: () => batch.cached?.abandon(),
      };
    },
  };
}
