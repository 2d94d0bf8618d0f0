import { fileURLToPath } from 'node:url';

/**
 * The path of a module of Eddy's beside (or relative to) the calling one, named by its TypeScript source
 * (`./sandbox-worker.ts`): that file when Eddy runs from its sources, its compiled `.js` when it runs
 * from dist/ (installed). For the entries handed to other programs by path: child processes, esbuild.
 */
export function siblingModule(relativeSource: string, callerUrl: string): string {
  const compiled = !callerUrl.endsWith('.ts');
  return fileURLToPath(new URL(compiled ? relativeSource.replace(/\.ts$/, '.js') : relativeSource, callerUrl));
}
