// Makes node_modules/fuse-native the build bucketfs needs, and proves it: applies
// patches/fuse-native+*.patch (patch-package; a no-op when already applied), compiles the addon from
// the patched source with node-gyp, then loads fuse-native and checks the patch marker of both its JS
// and its native addon. Runs as npm's postinstall, and by hand when the daemon says so.
// Every failure exits 1 with one line saying what to do: node-gyp-build otherwise falls back in
// silence to the prebuilt addon, which still has the bugs the patch fixes (README, Dependencies).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(path.join(repo, 'package.json'));
const again = `then run node ${path.join(repo, 'scripts', 'build-fuse-native.mjs')}`;

function fail(message) {
  console.error(`bucketfs: ${message}`);
  process.exit(1);
}

/** Is `name` an executable in a PATH folder? */
function onPath(name) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir || '.', name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// 1. The compiler toolchain, checked first: node-gyp's own failure is 50 lines that bury the cause.
const missing = ['make', 'g++', 'python3'].filter((tool) => !onPath(tool));
if (missing.length > 0) {
  fail(`building the patched fuse-native needs ${missing.join(', ')} (not on PATH): install them (sudo apt-get install -y build-essential python3), ${again}`);
}

// 2. The patch. patch-package checks a single patch by a reverse dry run, so re-running is safe.
const patchPackage = path.join(path.dirname(require.resolve('patch-package/package.json')), 'index.js');
const patched = spawnSync(process.execPath, [patchPackage, '--error-on-fail'], { cwd: repo, stdio: 'inherit' });
if (patched.status !== 0) {
  fail(`patches/fuse-native+*.patch does not apply to node_modules/fuse-native (a different version, or an older patch applied): run npm ci`);
}

// 3. The build. npm's bundled node-gyp, found the way npm itself finds it; a download only as a last resort.
const fuseDir = path.dirname(require.resolve('fuse-native/package.json'));
const npmCli = process.env.npm_execpath;
const bundled = [
  process.env.npm_config_node_gyp,
  npmCli && path.join(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].find((file) => file && file.endsWith('.js') && existsSync(file));
const [command, args] = bundled
  ? [process.execPath, [bundled, 'rebuild']]
  : onPath('node-gyp')
    ? ['node-gyp', ['rebuild']]
    : ['npx', ['--yes', 'node-gyp', 'rebuild']];
// Node's own headers when they ship with it (/usr/include/node): no download from nodejs.org.
const nodeRoot = path.resolve(path.dirname(process.execPath), '..');
const localHeaders = existsSync(path.join(nodeRoot, 'include', 'node', 'node_api.h'));
const env = { ...process.env };
if (!env.npm_config_nodedir && localHeaders) env.npm_config_nodedir = nodeRoot;
const built = spawnSync(command, args, { cwd: fuseDir, stdio: 'inherit', env });
if (built.error || built.status !== 0) {
  fail(`compiling the patched fuse-native in ${fuseDir} failed (${built.error?.message ?? `exit ${built.status}`}; node-gyp's output is above): fix the cause, ${again}`);
}

// 4. The proof, in a fresh process: the same marker the daemon checks before it mounts.
const probe = 'const p = require(process.argv[1]).bucketfsPatch; console.log(JSON.stringify(p ?? null)); process.exit(p && p.js === p.native ? 0 : 1)';
const loaded = spawnSync(process.execPath, ['-e', probe, fuseDir], { encoding: 'utf8' });
if (loaded.status !== 0) {
  const why = loaded.stderr.trim().split('\n')[0] || `patch marker ${loaded.stdout.trim()}`;
  fail(`fuse-native in ${fuseDir} still loads an unpatched addon after the build (${why}), ${again}`);
}
console.log(`bucketfs: built the patched fuse-native (patch ${JSON.parse(loaded.stdout).js}) in ${fuseDir}`);
