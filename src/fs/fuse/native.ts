// Loads fuse-native on first use and proves it is the build bucketfs patched
// (patches/fuse-native+2.2.6.patch): node-gyp-build falls back in silence to the prebuilt addon when
// the rebuild was skipped (npm run with --ignore-scripts, or a client that skips install scripts) or
// failed, and that addon passes atime for mtime and drops `touch -m`. Loading lazily also keeps
// `bucketfs --help` and `bucketfs unmount` working while the binding is broken.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Fuse from 'fuse-native';

const SCRIPT = path.join('scripts', 'build-fuse-native.mjs');

/** The patch version this code was written against; the patch sets the same number in JS and C. */
export const FUSE_NATIVE_PATCH = 2;

/** The command that re-applies the patch and rebuilds the addon (scripts/ ships with the package). */
export function rebuildCommand(): string {
  // From src/fs/fuse (tests) or dist/src/fs/fuse (the CLI): the first folder up that holds the script.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, SCRIPT)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return `node ${path.join(dir, SCRIPT)}`;
}

/** Why `loaded` (what `require('fuse-native')` returned) is not the patched build, or undefined. */
export function bindingProblem(loaded: unknown): string | undefined {
  const marker = (loaded as { bucketfsPatch?: { js?: unknown; native?: unknown } } | undefined)?.bucketfsPatch;
  if (marker === undefined) return 'the bucketfs patch was not applied to it';
  if (marker.js !== FUSE_NATIVE_PATCH) return `its JS carries patch ${String(marker.js)}, this bucketfs needs patch ${FUSE_NATIVE_PATCH}`;
  if (marker.native === undefined) return 'it loaded the unpatched prebuilt addon (the rebuild was skipped or failed)';
  if (marker.native !== FUSE_NATIVE_PATCH) return `its addon was built from patch ${String(marker.native)}, this bucketfs needs patch ${FUSE_NATIVE_PATCH}`;
  return undefined;
}

export class BindingError extends Error {
  override readonly name = 'BindingError';
}

/**
 * fuse-native resolved from `from` (a file URL or path), once proven patched. Throws a BindingError
 * whose message is one line ending in the command that fixes it.
 */
export function loadFuseFrom(from: string): typeof Fuse {
  const require = createRequire(from);
  let loaded: unknown;
  let where = 'fuse-native';
  try {
    where = `fuse-native in ${path.dirname(require.resolve('fuse-native/package.json'))}`;
    loaded = require('fuse-native');
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new BindingError(`${where} does not load (${first}): run ${rebuildCommand()}`);
  }
  const problem = bindingProblem(loaded);
  if (problem) throw new BindingError(`${where} is not the patched build bucketfs needs: ${problem}; run ${rebuildCommand()}`);
  return loaded as typeof Fuse;
}

let cached: typeof Fuse | undefined;

/** bucketfs's own fuse-native, checked once per process. */
export function loadFuse(): typeof Fuse {
  cached ??= loadFuseFrom(import.meta.url);
  return cached;
}
