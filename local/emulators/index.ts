export {
  defaultEnginePair,
  type EnginePair,
  enginePairFromEnvironment,
  enginePairs,
  parseEnginePair,
} from './engine-pairs.js';
export type { RunningEmulators, StartEmulatorsOptions } from './start-emulators.js';
export { EmulatorError, startEmulators } from './start-emulators.js';
