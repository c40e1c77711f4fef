// Running a mount in the background: the CLI re-runs itself in the foreground as a detached child,
// waits on a pipe (fd 3) for "ready" or the one-line reason it failed, and exits with that outcome,
// so a failed mount is never reported as success. A pid file per mountpoint lets `bucketfs unmount`
// ask the right daemon to finish its uploads and unmount cleanly.

import { spawn } from 'node:child_process';
import { promises as fsp, openSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { controlSocketPath, runFileStem, stateDir } from './control/paths.js';
import { processStartTicks } from './proc.js';
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
  /** The daemon's start time (/proc/PID/stat, clock ticks since boot): a reused pid has another. */
  readonly startTicks?: number;
}


/**
 * Is `pid` still the bucketfs daemon serving `mountpoint`? Its command line must read
 * `… bucketfs mount … MOUNTPOINT …` (a relative mountpoint resolved against its working directory)
 * and its start time must be the recorded one: after a reboot or a crash the pid may belong to anything.
 */
export async function isDaemonFor(pid: number, mountpoint: string, recordedStartTicks?: number): Promise<boolean> {
  const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const args = cmdline.split('\0').filter((arg) => arg !== '');
  const bin = args.findIndex((arg) => path.basename(arg) === 'bucketfs');
  if (bin < 0 || args[bin + 1] !== 'mount') return false;
  const cwd = await fsp.readlink(`/proc/${pid}/cwd`).catch(() => '/');
  if (!args.slice(bin + 2).some((arg) => path.resolve(cwd, arg) === mountpoint)) return false;
  return recordedStartTicks === undefined || (await processStartTicks(pid)) === recordedStartTicks;
}

export async function writePidFile(mountpoint: string, logFile: string | undefined): Promise<void> {
  const file = pidFile(mountpoint);
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const record: PidRecord = { pid: process.pid, mountpoint: path.resolve(mountpoint), logFile, startTicks: await processStartTicks(process.pid) };
  await fsp.writeFile(file, JSON.stringify(record), { mode: 0o600 });
}

/** Removes the pid file and the control socket of `mountpoint` (a dead daemon leaves both behind). */
export async function removePidFile(mountpoint: string): Promise<void> {
  await fsp.rm(pidFile(mountpoint), { force: true });
  await fsp.rm(controlSocketPath(mountpoint), { force: true });
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
  await fsp.mkdir(path.dirname(logFile), { recursive: true, mode: 0o700 });
  // The log names every file touched: private to the mounting user, like the mount itself.
  const log = openSync(logFile, 'a', 0o600);
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

/**
 * Asks the daemon of `mountpoint` to unmount and waits for it. A pid file whose process is gone or is
 * no longer that daemon is stale: it is removed, and a mount left behind (also a dead one, whose
 * daemon crashed) is detached with fusermount as when there is no pid file at all.
 */
export async function unmountCommand(mountpoint: string, waitMs = 120_000): Promise<string> {
  const dir = path.resolve(mountpoint);
  const record = await fsp
    .readFile(pidFile(dir), 'utf8')
    .then((t) => JSON.parse(t) as PidRecord)
    .catch(() => undefined);
  const ours = () => record !== undefined && isDaemonFor(record.pid, dir, record.startTicks);
  if (record && (await ours())) {
    process.kill(record.pid, 'SIGTERM');
    // Until it is gone or a zombie (empty command line): a daemon that has exited is done, even
    // while nobody has reaped it yet (its parent, the CLI that started it, exited long ago).
    const deadline = Date.now() + waitMs;
    while ((await ours()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (await ours()) {
      throw new Error(`the daemon (pid ${record.pid}) is still finishing uploads after ${waitMs / 1000} s; it will unmount when done (log: ${record.logFile ?? 'stderr'})`);
    }
    await removePidFile(dir);
    return `unmounted ${dir}`;
  }
  if (record) await removePidFile(dir);
  if (!(await isMountPoint(dir))) throw new Error(`${dir} is not mounted`);
  await unmountPath(dir);
  return `unmounted ${dir} (no daemon was running for it)`;
}
