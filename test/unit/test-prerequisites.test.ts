// scripts/test-prerequisites.sh, the one list of what the tests need: `npm test` runs it before
// anything else, and on a machine that lacks a tool it stops with ONE line naming the packages and
// the apt-get command (instead of `spawn rsync ENOENT` ten minutes into the run). It never
// installs here: CI and BUCKETFS_INSTALL_TEST_TOOLS are removed from its environment, and the
// PATH it gets holds only the programs the test chooses.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join('scripts', 'test-prerequisites.sh');
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await fsp.rm(dir, { recursive: true, force: true });
});

/** The command every package of `group` is probed with, from the script's own table. */
function probes(group: string): string[] {
  const line = new RegExp(`^${group}=\\(([^)]*)\\)`, 'm').exec(readFileSync(path.join(REPO, SCRIPT), 'utf8'));
  return (line?.[1] ?? '').split(/\s+/).filter(Boolean).map((entry) => entry.slice(entry.indexOf(':') + 1));
}

/** A PATH folder with links to the programs in `names` that this machine has (and `id`, `apt-get`). */
async function pathWith(names: readonly string[]): Promise<string> {
  const dir = path.join(REPO, '.test-tmp', `prereq-${randomBytes(4).toString('hex')}`);
  dirs.push(dir);
  await fsp.mkdir(dir, { recursive: true });
  for (const name of [...names, 'id', 'apt-get']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found.startsWith('/')) await fsp.symlink(found, path.join(dir, name)).catch(() => undefined);
  }
  return dir;
}

function run(args: readonly string[], pathDir?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, BUCKETFS_TEST_S3: 'ceph' };
  delete env.CI;
  delete env.BUCKETFS_INSTALL_TEST_TOOLS;
  if (pathDir) env.PATH = pathDir;
  return spawnSync('/bin/bash', [SCRIPT, ...args], { cwd: REPO, env, encoding: 'utf8' });
}

describe('scripts/test-prerequisites.sh', () => {
  it('names what is missing and the apt-get command in one line, exit 1, without installing', async () => {
    const bin = await pathWith(probes('tools').filter((p) => p !== 'rsync' && p !== 'restic'));
    const result = run(['tools'], bin);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'bucketfs: the tests need rsync restic (not installed): run sudo apt-get update && sudo apt-get install -y --no-install-recommends rsync restic (or, as root, BUCKETFS_INSTALL_TEST_TOOLS=1 npm test)',
    ]);
  });

  it('is silent and exits 0 when every probe is found', async () => {
    const result = run(['tools'], await pathWith(probes('tools')));
    // This machine runs the mounted tests, so it has them all; stderr names any it lacks.
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('lists the packages of each group, the single list .ci/run and the Ceph start script install from', () => {
    const listed = run(['--list', 'build', 'tools', 'ceph']);
    expect(listed.status).toBe(0);
    const packages = listed.stdout.trim().split('\n');
    expect(packages).toEqual(expect.arrayContaining(['fuse', 'libfuse2', 'build-essential', 'rsync', 'restic', 'sqlite3', 'radosgw', 'ceph-mon']));
    expect(new Set(packages).size).toBe(packages.length);
    const ci = readFileSync(path.join(REPO, '.ci', 'run'), 'utf8');
    // Installs every package of the list outright, then checks them.
    expect(ci).toContain('scripts/test-prerequisites.sh --list build tools ceph');
    expect(ci).toMatch(/apt-get install -y .*"\$\{packages\[@\]\}"/);
    expect(ci).toContain('\nscripts/test-prerequisites.sh build tools ceph\n');
    expect(readFileSync(path.join(REPO, 'test', 'support', 'ceph-rgw-start.sh'), 'utf8')).toContain('"$PREREQ" --install ceph');
  });

  it('runs first in npm test, before the build, lint and vitest', () => {
    const scripts = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.test?.startsWith(`bash ${SCRIPT} && `)).toBe(true);
  });

  it('refuses an unknown group in one line with exit 2', () => {
    const result = run(['toolz']);
    expect(result.status).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
