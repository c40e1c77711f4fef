// Mounted-test harness: runs the REAL bucketfs CLI as a child process on a fresh mountpoint under
// .test-tmp/, and runs real tools against the mount with a timeout. Credentials go in the child's
// environment, never argv. Every session is registered until it is unmounted, so unmountAll() (in
// afterAll) or the exit hook leaves no mount and no daemon behind; processes are ended by PID only.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from './s3-server.js';

/** Where and how to reach the S3 server (what the global setup provides). */
export interface S3Access {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region?: string;
}

/** MountOptions.bucket for a mount of every bucket: the CLI gets the mountpoint alone. */
export const EVERY_BUCKET = '*';

export interface MountOptions {
  /** The bucket, or EVERY_BUCKET. */
  readonly bucket: string;
  /** Key prefix inside the bucket (the CLI's `bucket:prefix` form). */
  readonly prefix?: string;
  readonly s3: S3Access;
  /**
   * More CLI flags. `--stat-ttl 0 --negative-ttl 0` are added unless given here (yargs turns a
   * repeated flag into an array, so a default cannot simply be overridden by a later one).
   */
  readonly extraArgs?: readonly string[];
  /** More environment for the daemon (after the credentials, so tests can override them). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long the mount may take to appear, ms. Default 30 s. */
  readonly mountTimeoutMs?: number;
}

export interface MountSession {
  /** The mountpoint (absolute). */
  readonly dir: string;
  /** PID of the foreground daemon. */
  readonly pid: number;
  /** Everything the daemon wrote to stdout and stderr so far. */
  log(): string;
  /** Resolves when the daemon process has exited, for whatever reason. */
  readonly ended: Promise<void>;
  /** How the daemon exited, once it has (`code 0`, `signal SIGKILL`, `spawn error …`). */
  exitStatus(): string | undefined;
  /** How the daemon exited (`code 0`, `signal SIGKILL`...); '' while it runs. */
  exitDescription(): string;
  /** Unmounts and ends the daemon; idempotent; never leaves a mount or the process behind. */
  unmount(): Promise<void>;
}

export interface ToolResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

export interface ToolOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long, ms. Default 120 s. */
  readonly timeoutMs?: number;
  readonly input?: string | Buffer;
}

/** Works from test/support (vitest) and from dist/test/support (the compiled demo). */
export const REPO_ROOT = repoRoot();
export const BUCKETFS_BIN = path.join(REPO_ROOT, 'bin', 'bucketfs');
export const TEST_TMP = path.join(REPO_ROOT, '.test-tmp');

/** Runs a program with a hard timeout; resolves with its outcome (a non-zero exit is not an error). */
export function runTool(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killQuietly(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms (stderr: ${stderr.trim()})`));
        return;
      }
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr, stdoutBytes });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like runTool, but a non-zero exit rejects with the tool's stderr. */
export async function mustRun(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  const result = await runTool(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}: ${result.stderr.trim()}`);
  }
  return result;
}

/** Runs `bin/bucketfs ARGS` (the real CLI, as a user would) with `env` over the test's environment. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>> = {}, timeoutMs = 120_000): Promise<ToolResult> {
  return runTool(process.execPath, [BUCKETFS_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeoutMs });
}

/** Is `dir` a mount point? Reads /proc/self/mountinfo asynchronously (octal escapes decoded). */
export async function isMounted(dir: string): Promise<boolean> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  return mountedIn(text, dir);
}

/** Mount points listed in a mountinfo text, octal escapes (\\040 for a space...) decoded. */
function mountPoints(mountinfo: string): string[] {
  const unescape = (m: string) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return mountinfo.split('\n').flatMap((line) => {
    const field = line.split(' ')[4];
    return field === undefined ? [] : [unescape(field)];
  });
}

function mountedIn(mountinfo: string, dir: string): boolean {
  return mountPoints(mountinfo).includes(dir);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** PIDs of live processes whose command line mentions `text` (e.g. a unique mountpoint). */
export async function pidsMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await fsp.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    // A zombie has an empty cmdline and is no longer running anything.
    if (cmdline.split('\0').includes(text)) pids.push(Number(entry));
  }
  return pids;
}

/** A fresh directory under .test-tmp/<label>-<random>/, for a mountpoint and the daemon's state. */
export async function makeTestDir(label: string): Promise<string> {
  const dir = path.join(TEST_TMP, `${label}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Deletes a directory made by makeTestDir — but refuses while anything below it is mounted, since a
 * recursive delete would otherwise walk into the mount and delete objects in the bucket.
 */
export async function removeTestDir(dir: string): Promise<void> {
  const below = `${dir}/`;
  const mounted = mountPoints(await fsp.readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m === dir || m.startsWith(below));
  if (mounted.length > 0) throw new Error(`not deleting ${dir}: ${mounted.join(', ')} is still mounted`);
  await fsp.rm(dir, { recursive: true, force: true });
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Environment for a bucketfs process: keys, region, and a private XDG cache (pid and log files). */
export function cliEnv(s3: S3Access, stateDir: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region ?? 'us-east-1',
    XDG_CACHE_HOME: path.join(stateDir, 'cache'),
    ...extra,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A bound for Promise.race that does not keep the process alive after the race is won. */
const deadline = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const endAt = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= endAt) return false;
    await sleep(everyMs);
  }
}

/** A process the tests started indirectly, and a string its command line must still hold to be ours. */
interface Stray {
  readonly pid: number;
  readonly marker: string;
}

/** Sessions not yet unmounted; and mountpoints left by CLI runs, with the processes serving them. */
const liveSessions = new Set<MountSession>();
const strays = new Map<string, Stray[]>();

/**
 * Makes `dir` — and the process `pid`, if given — part of the clean-up. The process is only signalled
 * while its command line still contains `marker` (default `dir`), so a reused PID is never hit.
 */
export function registerDaemon(pid: number | undefined, dir: string, marker: string = dir): void {
  const list = strays.get(dir) ?? [];
  if (pid !== undefined && !list.some((s) => s.pid === pid)) list.push({ pid, marker });
  strays.set(dir, list);
}

/** Forgets a mountpoint the test has seen unmounted and its processes end. */
export function forgetDaemon(dir: string): void {
  strays.delete(dir);
}

/** Is `stray` alive and still the process we registered? Reads /proc (never the mount). */
function stillOurs(stray: Stray): boolean {
  try {
    return readFileSync(`/proc/${stray.pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.includes(stray.marker));
  } catch {
    return false;
  }
}

/**
 * Runs `bucketfs mount ARGS` expecting it to return: the background path, or a mount that must fail.
 * Whatever it leaves on `dir` — a daemon (found by PID through its command line) or a mount — is
 * registered for unmountAll(), so an unexpected success cannot outlive the test.
 */
export async function runMountCommand(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  dir: string,
  timeoutMs = 60_000,
): Promise<ToolResult> {
  try {
    return await runCli(args, env, timeoutMs);
  } finally {
    for (const pid of await pidsMentioning(dir)) registerDaemon(pid, dir);
    if (await isMounted(dir)) registerDaemon(undefined, dir);
  }
}

/** Forcefully ends one mount: lazy unmount if still mounted, SIGKILL the daemon if still alive. */
export async function forceCleanup(dir: string, pid: number | undefined): Promise<void> {
  if (await isMounted(dir)) await runTool('fusermount', ['-uz', dir], { timeoutMs: 30_000 });
  if (pid !== undefined && isAlive(pid)) {
    killQuietly(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), 10_000);
  }
}

/** Unmounts every session and ends every registered process (SIGTERM, then force): call from afterAll. */
export async function unmountAll(): Promise<void> {
  const errors: unknown[] = [];
  for (const session of [...liveSessions]) await session.unmount().catch((e: unknown) => errors.push(e));
  for (const [dir, list] of [...strays]) {
    const ours = list.filter(stillOurs);
    for (const stray of ours) killQuietly(stray.pid, 'SIGTERM');
    await waitFor(() => ours.every((stray) => !stillOurs(stray)), 15_000);
    for (const stray of ours) if (stillOurs(stray)) killQuietly(stray.pid, 'SIGKILL');
    await forceCleanup(dir, undefined).catch((e: unknown) => errors.push(e));
    strays.delete(dir);
  }
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup of mounts failed');
}

/** Daemons of live foreground sessions, by mountpoint, for the exit hook. */
const sessionDaemons = new Map<string, () => number | undefined>();

/**
 * Last resort when the runner exits without afterAll (a crash or a killed worker): detach each mount
 * lazily and SIGKILL each daemon by PID. Synchronous because 'exit' handlers cannot wait; none of it
 * touches files inside a mount.
 */
process.once('exit', () => {
  let mountinfo = '';
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    // No /proc: nothing to check.
  }
  const detach = (dir: string): void => {
    if (mountedIn(mountinfo, dir)) spawnSync('fusermount', ['-uz', dir], { timeout: 10_000 });
  };
  for (const [dir, pid] of sessionDaemons) {
    detach(dir);
    const alive = pid();
    if (alive !== undefined) killQuietly(alive, 'SIGKILL');
  }
  for (const [dir, list] of strays) {
    detach(dir);
    for (const stray of list) if (stillOurs(stray)) killQuietly(stray.pid, 'SIGKILL');
  }
});

/** No stat or negative caching, so a test sees a change made with the SDK at once. */
function freshnessDefaults(extraArgs: readonly string[]): string[] {
  return ['--stat-ttl', '--negative-ttl'].filter((flag) => !extraArgs.includes(flag)).flatMap((flag) => [flag, '0']);
}

const LOG_LIMIT_CHARS = 4 * 1024 * 1024;

/**
 * Mounts `bucket[:prefix]` with the real CLI in the foreground (child process) on a fresh empty
 * directory, and resolves once the kernel lists it as a mount point. Fails with the daemon's log when
 * the daemon exits first or the mount does not appear in time.
 */
export async function mountBucket(options: MountOptions): Promise<MountSession> {
  const every = options.bucket === EVERY_BUCKET;
  const root = await makeTestDir(every ? 'mount-every-bucket' : `mount-${options.bucket}`);
  const dir = path.join(root, 'mnt');
  await fsp.mkdir(dir);
  const env = cliEnv(options.s3, root, options.env);
  const source = options.prefix ? `${options.bucket}:${options.prefix}` : options.bucket;
  const args = [
    BUCKETFS_BIN,
    'mount',
    ...(every ? [] : [source]),
    dir,
    '--foreground',
    '--endpoint',
    options.s3.endpoint,
    ...freshnessDefaults(options.extraArgs ?? []),
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logText = '';
  const append = (chunk: Buffer) => {
    logText += chunk.toString('utf8');
    if (logText.length > LOG_LIMIT_CHARS) logText = logText.slice(-LOG_LIMIT_CHARS / 2);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited = false;
  let exitDescription = '';
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      exitDescription = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.on('error', (e) => {
      exited = true;
      exitDescription = `spawn error ${e.message}`;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${BUCKETFS_BIN}`);

  let unmounting: Promise<void> | undefined;
  const session: MountSession = {
    dir,
    pid,
    log: () => logText,
    ended: exitedPromise,
    exitStatus: () => (exited ? exitDescription : undefined),
    exitDescription: () => exitDescription,
    unmount: () => {
      unmounting ??= (async () => {
        try {
          if (!exited) {
            // The user's way first: `bucketfs unmount` signals the daemon through its pid file.
            await runCli(['unmount', dir], env, 60_000).catch(() => undefined);
            if (!exited) killQuietly(pid, 'SIGTERM');
            await Promise.race([exitedPromise, deadline(30_000)]);
          }
          await forceCleanup(dir, exited ? undefined : pid);
          await Promise.race([exitedPromise, deadline(10_000)]);
          if (!exited) throw new Error(`bucketfs daemon ${pid} for ${dir} survived SIGKILL`);
          if (await isMounted(dir)) throw new Error(`${dir} is still mounted after fusermount -uz`);
          // The daemon's state (pid file, spool) goes with the mountpoint.
          await removeTestDir(root);
        } finally {
          liveSessions.delete(session);
          if (exited) sessionDaemons.delete(dir);
        }
      })();
      return unmounting;
    },
  };
  liveSessions.add(session);
  sessionDaemons.set(dir, () => (exited ? undefined : pid));

  const timeoutMs = options.mountTimeoutMs ?? 30_000;
  const appeared = await waitFor(async () => exited || (await isMounted(dir)), timeoutMs);
  if (!exited && appeared) return session;
  await session.unmount().catch(() => undefined);
  const why = exited ? `the daemon exited (${exitDescription}) before mounting` : `no mount after ${timeoutMs} ms`;
  throw new Error(`mounting ${source} on ${dir} failed: ${why}; daemon log:\n${logText}`);
}

/** Mounts, runs `fn`, and always unmounts, even when `fn` throws. */
export async function withMount<T>(options: MountOptions, fn: (session: MountSession) => Promise<T>): Promise<T> {
  const session = await mountBucket(options);
  try {
    return await fn(session);
  } finally {
    await session.unmount();
  }
}
