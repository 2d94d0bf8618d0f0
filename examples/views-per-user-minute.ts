import { pipeline, state } from 'eddy';
import { Click } from './page-views.js';

/** One user's views in one minute of event time, emitted once the watermark has passed the minute. */
export interface UserMinute {
  readonly user: string;
  readonly minute: number;
  readonly views: number;
}

const MINUTE = 60_000;
const declared = { counts: state.map<number>() };

/**
 * Views per user and minute with a keyed process function: a count per open minute in map state, an
 * event-time timer at each minute's last millisecond that emits and forgets it. Views for a minute
 * already emitted go to the side output `page-views-per-user-late`.
 */
export default pipeline('page-views-per-user')
  .source('clicks', { schema: Click, eventTime: (c) => c.ts, maxOutOfOrderness: '10s' })
  .filter((c) => c.kind === 'view')
  .keyBy((c) => c.user)
  .process<UserMinute, typeof declared>(
    {
      processElement(click, context) {
        const minute = Math.floor(context.timestamp / MINUTE) * MINUTE;
        if (minute + MINUTE - 1 <= context.timers.currentWatermark()) {
          context.output('late', click);
          return;
        }
        context.state.counts.put(String(minute), (context.state.counts.get(String(minute)) ?? 0) + 1);
        context.timers.registerEventTimeTimer(minute + MINUTE - 1);
      },
      onTimer(time, context) {
        const minute = time + 1 - MINUTE;
        const views = context.state.counts.get(String(minute));
        if (views === undefined) return;
        context.state.counts.remove(String(minute));
        context.emit({ user: context.key, minute, views });
      },
    },
    { name: 'per-minute', state: declared, sideOutputs: ['late'], streams: { late: 'page-views-per-user-late' } },
  )
  .sink('views-per-user-minute');
