import type { Server } from 'node:http';
import { createRequire, Module } from 'node:module';
import type { KinesaliteOptions } from 'kinesalite';
import { getRecords } from './get-records.js';

const require = createRequire(import.meta.url);

/** Marks the fixed action, whichever evaluation of this module put it in the require cache. */
const FIXED = Symbol.for('eddy.kinesalite.fixedGetRecords');

/** Whether a cached kinesalite action is Eddy's fix (get-records.ts). */
export function isFixedGetRecords(action: unknown): boolean {
  return typeof action === 'function' && (action as { [FIXED]?: boolean })[FIXED] === true;
}

/**
 * kinesalite, with Eddy's fixed GetRecords action (get-records.ts) in place of its own. kinesalite
 * loads its actions with require() when its module is first loaded, so the fixed one goes into the
 * require cache under the original's file name before that.
 */
function loadKinesalite(): (options?: KinesaliteOptions) => Server {
  const actionFile = require.resolve('kinesalite/actions/getRecords');
  if (!isFixedGetRecords(require.cache[actionFile]?.exports)) {
    if (require.cache[require.resolve('kinesalite')] !== undefined) {
      throw new Error('kinesalite was loaded before its GetRecords fix could be put in place');
    }
    const replacement = new Module(actionFile);
    replacement.filename = actionFile;
    replacement.loaded = true;
    replacement.exports = Object.assign((...args: Parameters<typeof getRecords>) => getRecords(...args), {
      [FIXED]: true,
    });
    require.cache[actionFile] = replacement;
  }
  return require('kinesalite') as (options?: KinesaliteOptions) => Server;
}

export const kinesalite = loadKinesalite();
