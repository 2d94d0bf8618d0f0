#!/usr/bin/env node
// Pipelines are TypeScript files: register tsx's loader, then run the CLI (itself TypeScript).
import { register } from 'tsx/esm/api';

register();
await import('../cli/eddy.ts');
