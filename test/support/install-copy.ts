// A bucketfs install as a skipped or failed fuse-native rebuild leaves it, for tests of the binding
// check through the real CLI: this checkout's runnable parts (bin/, dist/src/, scripts/,
// package.json) copied under `root`, and a node_modules whose packages link to the real ones —
// except fuse-native, copied without build/, so node-gyp-build loads its prebuilt, unpatched addon.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './mount-session.js';

/** Builds the copy and returns the path of its bin/bucketfs. */
export async function installWithPrebuiltFuse(root: string): Promise<string> {
  for (const part of ['bin', path.join('dist', 'src'), 'scripts', 'package.json']) {
    await fsp.cp(path.join(REPO_ROOT, part), path.join(root, part), { recursive: true });
  }
  const modules = path.join(REPO_ROOT, 'node_modules');
  const copy = path.join(root, 'node_modules');
  await fsp.mkdir(copy, { recursive: true });
  for (const entry of await fsp.readdir(modules)) {
    if (entry !== 'fuse-native' && !entry.startsWith('.')) await fsp.symlink(path.join(modules, entry), path.join(copy, entry));
  }
  const fuse = path.join(modules, 'fuse-native');
  const build = path.join(fuse, 'build');
  await fsp.cp(fuse, path.join(copy, 'fuse-native'), { recursive: true, filter: (src) => src !== build && !src.startsWith(`${build}/`) });
  return path.join(root, 'bin', 'bucketfs');
}
