// The demo must keep working: `demo.js --check` (what `npm run demo -- --check` runs) mounts, reads
// through the mount and exits 0; the interactive demo cleans up on SIGTERM. Either way nothing may
// stay mounted and neither the daemon nor the s3rver it started may outlive it (checked by PID).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forgetDaemon, isAlive, isMounted, mustRun, pidsMentioning, REPO_ROOT, registerDaemon, runTool, unmountAll } from '../support/mount-session.js';

const DEMO = path.join(REPO_ROOT, 'dist', 'test', 'support', 'demo.js');

afterAll(unmountAll);

interface Started {
  readonly dir: string;
  readonly daemonPid: number;
  readonly serverPid: number;
}

/** Parses the demo's "mounted s3://demo at DIR (bucketfs pid N; s3rver, pid M)" line. */
function parseStarted(stdout: string): Started {
  const m = /mounted s3:\/\/demo at (\S+) \(bucketfs pid (\d+); s3rver, pid (\d+)\)/.exec(stdout);
  if (!m) throw new Error(`the demo did not report its mount:\n${stdout}`);
  const started = { dir: m[1] as string, daemonPid: Number(m[2]), serverPid: Number(m[3]) };
  // Should the demo fail to clean up, the test's own clean-up must end what it left.
  registerDaemon(started.daemonPid, started.dir);
  registerDaemon(started.serverPid, started.dir, 's3rver');
  return started;
}

async function expectNothingLeft(started: Started): Promise<void> {
  expect(await isMounted(started.dir)).toBe(false);
  expect(isAlive(started.daemonPid)).toBe(false);
  expect(isAlive(started.serverPid)).toBe(false);
  expect(await pidsMentioning(started.dir)).toEqual([]);
  forgetDaemon(started.dir);
}

describe('the demo', () => {
  it('is built (npm run build compiles test/support/demo.ts)', () => {
    expect(existsSync(DEMO), `${DEMO} is missing: run npm run build`).toBe(true);
  });

  it('--check lists the bucket and prints the README through the mount, then cleans up', async () => {
    const result = await runTool(process.execPath, [DEMO, '--check'], { cwd: REPO_ROOT, timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    const started = parseStarted(result.stdout);
    expect(result.stdout).toMatch(/^l.* latest-photo -> photos\/sunset-06\.ppm$/m);
    expect(result.stdout).toMatch(/^d.* photos$/m);
    expect(result.stdout).toContain('Welcome to bucketfs.');
    await expectNothingLeft(started);
  });

  it('interactive: serves the mount until SIGTERM, then unmounts and stops the server', async () => {
    const child = spawn(process.execPath, [DEMO], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => stdout.includes('Press Ctrl-C') && resolve());
      void exited.then(() => reject(new Error(`the demo exited before it was ready:\n${stdout}\n${stderr}`)));
    });
    try {
      await ready;
      const started = parseStarted(stdout);
      expect((await mustRun('cat', [path.join(started.dir, 'docs/guide/intro.md')])).stdout).toMatch(/^# Intro/);
      expect((await mustRun('readlink', [path.join(started.dir, 'latest-photo')])).stdout).toBe('photos/sunset-06.ppm\n');
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
      expect(stdout).toContain('SIGTERM: unmounting and stopping the server');
      await expectNothingLeft(started);
    } finally {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }
  });
});
