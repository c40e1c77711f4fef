// Running a mount in the background: the CLI re-runs itself in the foreground as a detached child,
// waits on a pipe (fd 3) for "ready" or the one-line reason it failed, and exits with that outcome,
// so a failed mount is never reported as success. A pid file per mountpoint lets `bucketfs unmount`
// ask the right daemon to finish its uploads and unmount cleanly.

import { spawn } from 'node:child_process';
import { promises as fsp, openSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { runFileStem, stateDir } from './control/paths.js';
import { isMountPoint } from './run.js';
import { unmountPath } from './fs/fuse/binding.js';

const READY_FD_ENV = 'BUCKETFS_READY_FD';



export function defaultLogFile(bucket: string): string {
  return path.join(stateDir(), 'logs', `${bucket}.log`);
}

function pidFile(mountpoint: string): string {
  return `${runFileStem(mountpoint)}.json`;
}

/** Mountpoints that have a pid file, with its pid (the daemon may have died since). */
export async function listPidFiles(): Promise<{ pid: number; mountpoint: string }[]> {
  const dir = path.join(stateDir(), 'run');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const out: { pid: number; mountpoint: string }[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const record = await fsp
      .readFile(path.join(dir, name), 'utf8')
      .then((t) => JSON.parse(t) as Partial<PidRecord>)
      .catch(() => undefined);
    if (typeof record?.pid === 'number' && typeof record.mountpoint === 'string') out.push({ pid: record.pid, mountpoint: record.mountpoint });
  }
  return out.sort((a, b) => a.mountpoint.localeCompare(b.mountpoint));
}

/** True in the daemon the background mount started (before it has reported to its parent). */
export function isBackgroundDaemon(): boolean {
  return process.env[READY_FD_ENV] !== undefined;
}

interface PidRecord {
  readonly pid: number;
  readonly mountpoint: string;
  readonly logFile: string | undefined;
}

export async function writePidFile(mountpoint: string, logFile: string | undefined): Promise<void> {
  const file = pidFile(mountpoint);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const record: PidRecord = { pid: process.pid, mountpoint: path.resolve(mountpoint), logFile };
  await fsp.writeFile(file, JSON.stringify(record));
}

export async function removePidFile(mountpoint: string): Promise<void> {
  await fsp.rm(pidFile(mountpoint), { force: true });
}

/** In the child: tell the waiting parent how the mount went (no-op in a plain foreground run). */
export function reportToParent(outcome: { ok: true } | { ok: false; message: string }): void {
  const fd = Number(process.env[READY_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, outcome.ok ? 'ready\n' : `error ${outcome.message}\n`);
    closeSync(fd);
  } catch {
    // The parent is gone (killed while waiting): nothing to tell.
  }
  delete process.env[READY_FD_ENV];
}

/** In the parent: start the daemon and wait for its verdict. Resolves with the daemon's pid. */
export async function startInBackground(argv: readonly string[], logFile: string): Promise<number> {
  await fsp.mkdir(path.dirname(logFile), { recursive: true });
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', log, log, 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: '3' },
  });
  closeSync(log);
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  let text = '';
  const verdict = await new Promise<string>((resolve) => {
    pipe.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    pipe.on('end', () => resolve(text));
    pipe.on('error', () => resolve(text));
    child.on('exit', (code) => resolve(text || `error the daemon exited with code ${code} before mounting: see ${logFile}`));
  });
  if (verdict.startsWith('ready')) {
    child.unref();
    (pipe as unknown as { destroy(): void }).destroy();
    return child.pid ?? 0;
  }
  throw new Error(verdict.replace(/^error /, '').trim() || `the daemon failed to start: see ${logFile}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Asks the daemon of `mountpoint` to unmount and waits for it; falls back to fusermount. */
export async function unmountCommand(mountpoint: string, waitMs = 120_000): Promise<string> {
  const dir = path.resolve(mountpoint);
  const record = await fsp
    .readFile(pidFile(dir), 'utf8')
    .then((t) => JSON.parse(t) as PidRecord)
    .catch(() => undefined);
  if (record && alive(record.pid)) {
    process.kill(record.pid, 'SIGTERM');
    const deadline = Date.now() + waitMs;
    while (alive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(record.pid)) {
      throw new Error(`the daemon (pid ${record.pid}) is still finishing uploads after ${waitMs / 1000} s; it will unmount when done (log: ${record.logFile ?? 'stderr'})`);
    }
    await removePidFile(dir);
    return `unmounted ${dir}`;
  }
  if (!(await isMountPoint(dir))) throw new Error(`${dir} is not mounted`);
  await unmountPath(dir);
  await removePidFile(dir);
  return `unmounted ${dir} (no daemon was running for it)`;
}
