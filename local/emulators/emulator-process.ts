/**
 * Child-process entry of the emulators: starts them in-process here and tells the parent their
 * endpoints over IPC. Running them in a process of their own puts them on the second core, beside
 * the stage handlers, and lets a test kill one side without the other.
 */
import {
  type EmulatorEndpoints,
  killEngines,
  type RunningEmulators,
  type StartEmulatorsOptions,
  startEmulatorsInProcess,
} from './start-emulators.js';

const options = JSON.parse(process.argv[2] ?? '{}') as StartEmulatorsOptions;
let running: RunningEmulators | undefined;
let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  // Still starting: the engines stop once they are up (below), not left running without a parent.
  running?.stop().finally(() => process.exit(0));
};
// The IPC channel closes when the parent exits, even on SIGKILL: never outlive it. Listening from
// the start also covers a parent that dies while the engines start (a JVM takes seconds).
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
// Ctrl-C reaches the whole process group: stop in order, so a temporary data folder is removed.
process.on('SIGINT', shutdown);
// However this process ends (an uncaught error included), engines of their own must not outlive it.
process.on('exit', () => killEngines(running?.processIds ?? []));

try {
  running = await startEmulatorsInProcess(options);
} catch (error) {
  // The parent reports it: a failure to start (a data directory in use, say) is the parent's error.
  process.send?.({ error: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
  await new Promise(() => {});
  throw error;
}
if (stopping) {
  await running.stop();
  process.exit(0);
}
const ready: EmulatorEndpoints = {
  kinesisEndpoint: running.kinesisEndpoint,
  ...(running.dynamodbEndpoint !== undefined && { dynamodbEndpoint: running.dynamodbEndpoint }),
  processIds: running.processIds,
};
process.send?.(ready);
