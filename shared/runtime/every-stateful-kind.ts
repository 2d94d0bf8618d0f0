import { joinOperatorOf } from './stateful-join.js';
import { processOperatorOf } from './stateful-process.js';
import type { StatefulKinds } from './stateful-runner.js';
import { windowOperatorOf } from './stateful-window.js';

/**
 * Every stateful operator: what the stage runner runs unless told otherwise (tests, the local stack,
 * functions/stage-handler.ts). A Lambda entry point of one stage kind names its own instead, so that
 * its bundle leaves the others out (functions/, docs/operations.md "Bundles and cold starts").
 */
export const EVERY_STATEFUL_KIND: StatefulKinds = {
  window: windowOperatorOf,
  process: processOperatorOf,
  join: joinOperatorOf,
};
