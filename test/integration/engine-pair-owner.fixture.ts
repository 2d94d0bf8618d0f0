// Starts the second engine pair and reports its process ids to the parent, then waits to be killed.
import { startEmulators } from '../../local/emulators/index.js';

const emulators = await startEmulators({ engines: 'kinesis-mock+dynamodb-local' });
process.send?.(emulators.processIds);
setInterval(() => {}, 60_000);
