// Rebuilds fuse-native from source after patch-package has applied patches/fuse-native+*.patch:
// the shipped prebuild passes atime where mtime belongs in utimens and cannot ask for big_writes.
// node-gyp-build loads build/Release before prebuilds/, so the patched addon wins once built.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('fuse-native/package.json'));
// npm puts its bundled node-gyp on PATH for lifecycle scripts; outside npm, fall back to npx.
const viaPath = spawnSync('node-gyp', ['rebuild'], { cwd: dir, stdio: 'inherit' });
const result = viaPath.error ? spawnSync('npx', ['--yes', 'node-gyp', 'rebuild'], { cwd: dir, stdio: 'inherit' }) : viaPath;
if (result.status !== 0) {
  console.error(`bucketfs: building the patched fuse-native in ${dir} failed: install make, g++ and python3 (apt-get install -y build-essential python3), then run npm rebuild`);
  process.exit(1);
}
