/**
 * Child-process entry of the emulators: starts them in-process here and tells the parent their
 * endpoints over IPC. Running them in a process of their own puts them on the second core, beside
 * the stage handlers, and lets a test kill one side without the other.
 */
import {
  type EmulatorEndpoints,
  type RunningEmulators,
  type StartEmulatorsOptions,
  startEmulatorsInProcess,
} from './start-emulators.js';

const options = JSON.parse(process.argv[2] ?? '{}') as StartEmulatorsOptions;
let running: RunningEmulators;
try {
  running = await startEmulatorsInProcess(options);
} catch (error) {
  // The parent reports it: a failure to start (a data directory in use, say) is the parent's error.
  process.send?.({ error: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
  await new Promise(() => {});
  throw error;
}
const ready: EmulatorEndpoints = {
  kinesisEndpoint: running.kinesisEndpoint,
  ...(running.dynamodbEndpoint !== undefined && { dynamodbEndpoint: running.dynamodbEndpoint }),
  processGroups: running.processGroups,
};
process.send?.(ready);

const shutdown = (): void => {
  running.stop().finally(() => process.exit(0));
};
// The IPC channel closes when the parent exits, even on SIGKILL: never outlive it.
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
