// Starts the second engine pair and reports its process groups to the parent, then waits to be killed.
import { startEmulators } from '../../local/emulators/index.js';

const emulators = await startEmulators({ engines: 'kinesis-mock+dynamodb-local' });
process.send?.(emulators.processGroups);
setInterval(() => {}, 60_000);
