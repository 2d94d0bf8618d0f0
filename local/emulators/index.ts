export {
  defaultEnginePair,
  type EnginePair,
  enginePairFromEnvironment,
  enginePairs,
  parseEnginePair,
} from './engine-pairs.js';
export type { EmulatorStore, RunningEmulators, StartEmulatorsOptions } from './start-emulators.js';
export { EmulatorError, startEmulators } from './start-emulators.js';
