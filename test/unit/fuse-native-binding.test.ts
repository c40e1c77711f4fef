// The install contract for fuse-native: the patch holds source changes only (no build output from
// the machine that made it), and bucketfs refuses — in one line that names the command to run — a
// fuse-native whose patch was never applied or whose addon is the unpatched prebuild, which is what
// node-gyp-build loads when the rebuild was skipped or failed. The copies are real: the shipped
// prebuilt addon, and the shipped index.js with the patch reversed.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BindingError, FUSE_NATIVE_PATCH, bindingProblem, loadFuse, loadFuseFrom } from '../../src/fs/fuse/native.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PATCH = path.join(REPO, 'patches', 'fuse-native+2.2.6.patch');
const INSTALLED = path.join(REPO, 'node_modules', 'fuse-native');
const REBUILD = `run node ${path.join(REPO, 'scripts', 'build-fuse-native.mjs')}`;

const copies: string[] = [];
afterAll(async () => {
  for (const dir of copies) await fsp.rm(dir, { recursive: true, force: true });
});

/**
 * A copy of the installed fuse-native WITHOUT build/ (so node-gyp-build takes the prebuild), under
 * the repository so its own dependencies still resolve. Returns a file inside it to resolve from.
 */
async function copyWithoutBuild(label: string): Promise<{ root: string; from: string }> {
  const root = path.join(REPO, '.test-tmp', `${label}-${randomBytes(4).toString('hex')}`);
  copies.push(root);
  const dir = path.join(root, 'node_modules', 'fuse-native');
  await fsp.cp(INSTALLED, dir, { recursive: true, filter: (src) => !src.startsWith(path.join(INSTALLED, 'build')) });
  return { root, from: pathToFileURL(path.join(root, 'probe.js')).href };
}

function expectOneLineRefusal(from: string, cause: RegExp): void {
  let error: unknown;
  try {
    loadFuseFrom(from);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BindingError);
  const message = (error as Error).message;
  expect(message.split('\n')).toHaveLength(1);
  expect(message).toMatch(cause);
  expect(message.endsWith(REBUILD)).toBe(true);
}

describe('patches/fuse-native+2.2.6.patch', () => {
  const text = readFileSync(PATCH, 'utf8');

  it('changes only the two source files, with no build output, binaries or machine paths', () => {
    const files = [...text.matchAll(/^diff --git a\/(\S+) b\/\S+$/gm)].map((m) => m[1]);
    expect(files).toEqual(['node_modules/fuse-native/fuse-native.c', 'node_modules/fuse-native/index.js']);
    expect(text).not.toMatch(/^Binary files/m);
    expect(text).not.toMatch(/\/(work|root|home|tmp|usr)\//);
    // Patch 2 adds the caller context and nanosecond times: still a short, reviewable diff.
    expect(text.split('\n').length).toBeLessThan(320);
  });

  it('sets the same patch version in the JS and the native addon as the binding check expects', () => {
    expect(text).toContain(`+static const uint32_t bucketfs_patch = ${FUSE_NATIVE_PATCH};`);
    expect(text).toContain('+  NAPI_EXPORT_UINT32(bucketfs_patch)');
    expect(text).toContain(`+Fuse.bucketfsPatch = { js: ${FUSE_NATIVE_PATCH}, native: binding.bucketfs_patch }`);
  });
});

describe('the binding check', () => {
  it('accepts the installed, patched and rebuilt fuse-native', () => {
    const Fuse = loadFuse();
    expect(Fuse.bucketfsPatch).toEqual({ js: FUSE_NATIVE_PATCH, native: FUSE_NATIVE_PATCH });
    expect(bindingProblem(Fuse)).toBeUndefined();
  });

  it('refuses the prebuilt addon that node-gyp-build falls back to when the rebuild did not run', async () => {
    const { from } = await copyWithoutBuild('prebuild');
    expectOneLineRefusal(from, /^fuse-native in .* is not the patched build bucketfs needs: it loaded the unpatched prebuilt addon/);
  });

  it('refuses a fuse-native the patch was never applied to (install scripts skipped)', async () => {
    const { root, from } = await copyWithoutBuild('unpatched');
    // Outside any repository (the ceiling), git apply patches the paths below cwd like patch(1).
    const env = { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(root) };
    const reversed = spawnSync('git', ['apply', '--reverse', PATCH], { cwd: root, env, encoding: 'utf8' });
    expect(reversed.status, reversed.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'node_modules', 'fuse-native', 'index.js'), 'utf8')).not.toContain('bucketfs');
    expectOneLineRefusal(from, /is not the patched build bucketfs needs: the bucketfs patch was not applied to it/);
  });

  it('refuses a build from another patch version (node_modules older than the checkout)', () => {
    expect(bindingProblem({ bucketfsPatch: { js: FUSE_NATIVE_PATCH, native: FUSE_NATIVE_PATCH + 1 } })).toMatch(/addon was built from patch/);
    expect(bindingProblem({ bucketfsPatch: { js: FUSE_NATIVE_PATCH - 1, native: FUSE_NATIVE_PATCH } })).toMatch(/JS carries patch/);
    expect(bindingProblem(undefined)).toMatch(/not applied/);
  });

  it('refuses a fuse-native that does not load at all (a 0-byte addon) in one line', async () => {
    const { root, from } = await copyWithoutBuild('empty-addon');
    const release = path.join(root, 'node_modules', 'fuse-native', 'build', 'Release');
    await fsp.mkdir(release, { recursive: true });
    await fsp.writeFile(path.join(release, 'fuse.node'), '');
    expectOneLineRefusal(from, /^fuse-native in .* does not load \(.+\): /);
  });
});

describe('scripts/build-fuse-native.mjs', () => {
  it('fails the install with one line naming the missing compiler tools, before touching anything', async () => {
    const empty = path.join(REPO, '.test-tmp', `no-tools-${randomBytes(4).toString('hex')}`);
    copies.push(empty);
    await fsp.mkdir(empty, { recursive: true });
    const result = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'build-fuse-native.mjs')], {
      env: { PATH: empty, HOME: process.env.HOME },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `bucketfs: building the patched fuse-native needs make, g++, python3 (not on PATH): install them (sudo apt-get install -y build-essential python3), then ${REBUILD}`,
    ]);
  });
});
