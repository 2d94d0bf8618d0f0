export type { RunningEmulators, StartEmulatorsOptions } from './start-emulators.js';
export { EmulatorError, startEmulators } from './start-emulators.js';
