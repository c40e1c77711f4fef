// Starts and stops the local S3 servers the tests run against: Ceph RGW (a real S3 server, through
// ceph-rgw-start.sh) or s3rver (quick but lenient, a child process). Both bind only 127.0.0.1, keep
// all their state under one directory, and are stopped by PID, never by name.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export type S3ServerKind = 'ceph' | 's3rver';

/** What a test needs to talk to the server; plain data, so vitest can `provide` it. */
export interface S3ServerInfo {
  readonly kind: S3ServerKind;
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface S3ServerHandle extends S3ServerInfo {
  /** Stops the server by PID and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /** The same, synchronously: for a process 'exit' handler, where nothing async runs. */
  stopSync(): void;
}

/** The file that marks which process owns a server directory, so stale ones can be reaped. */
export const OWNER_FILE = 'owner.pid';
const S3RVER_PID_FILE = 's3rver.pid';
const CEPH_START_TIMEOUT_MS = 300_000;

/** The repository root: the nearest folder with package.json above this file (also from dist/). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'support'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no repository root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function cephScript(name: 'ceph-rgw-start.sh' | 'ceph-rgw-stop.sh'): string {
  return path.join(repoRoot(), 'test', 'support', name);
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A random RGW port whose whole Ceph block is free: RGW at P, the monitor at P+10, the OSD's
 * messenger ports in P+20..P+59. Random, so parallel runs on one machine rarely collide.
 */
async function freeCephPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 60 * Math.floor(Math.random() * 600);
    const ports = [base, base + 10, ...Array.from({ length: 40 }, (_, i) => base + 20 + i)];
    let free = true;
    for (const p of ports) {
      if (!(await portFree(p))) {
        free = false;
        break;
      }
    }
    if (free) return base;
  }
  throw new Error('no free block of 60 ports on 127.0.0.1');
}

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function runScript(script: string, args: string[], logFile: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  // Output goes to a file, not a pipe: the Ceph daemons the script forks would keep a pipe open.
  const fd = fs.openSync(logFile, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', fd, fd], env });
    fs.closeSync(fd);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal !== null ? 128 : 1));
    });
  });
}

async function startCeph(dir: string): Promise<S3ServerHandle> {
  let lastError = '';
  // A port taken between our check and the daemons' bind fails the script: try another block.
  for (let attempt = 1; attempt <= 3; attempt++) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, OWNER_FILE), `${process.pid}\n`);
    const port = await freeCephPort();
    const logFile = path.join(dir, 'start.log');
    const code = await runScript(cephScript('ceph-rgw-start.sh'), [dir, String(port)], logFile, { ...process.env }, CEPH_START_TIMEOUT_MS);
    const envFile = path.join(dir, 's3.env');
    if (code === 0 && fs.existsSync(envFile)) {
      const env = readEnvFile(envFile);
      const handle = cephHandle(dir, env);
      return handle;
    }
    lastError = `ceph-rgw-start.sh exited ${code}:\n${tail(logFile)}`;
    stopCephSync(dir, false);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`Ceph RGW did not start: ${lastError}`);
}

function stopCephSync(dir: string, purge: boolean): void {
  if (!fs.existsSync(dir)) return;
  spawnSync('bash', [cephScript('ceph-rgw-stop.sh'), dir, ...(purge ? ['--purge'] : [])], { stdio: 'ignore', timeout: 60_000 });
}

function cephHandle(dir: string, env: Record<string, string>): S3ServerHandle {
  const need = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === '') throw new Error(`${dir}/s3.env lacks ${name}`);
    return v;
  };
  let stopped = false;
  return {
    kind: 'ceph',
    endpoint: need('S3_ENDPOINT'),
    region: env.AWS_DEFAULT_REGION ?? 'us-east-1',
    accessKeyId: need('AWS_ACCESS_KEY_ID'),
    secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
    async stop() {
      if (stopped) return;
      stopped = true;
      const code = await runScript(cephScript('ceph-rgw-stop.sh'), [dir, '--purge'], '/dev/null', { ...process.env }, 60_000);
      if (code !== 0) throw new Error(`ceph-rgw-stop.sh ${dir} exited ${code}`);
    },
    stopSync() {
      if (stopped) return;
      stopped = true;
      stopCephSync(dir, true);
    },
  };
}

function s3rverBin(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
}

async function startS3rver(dir: string): Promise<S3ServerHandle> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, OWNER_FILE), `${process.pid}\n`);
  const logFile = path.join(dir, 's3rver.log');
  const log = fs.openSync(logFile, 'a');
  // --openssl-legacy-provider: s3rver's continuation tokens use DES, which OpenSSL 3 refuses.
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', s3rverBin(), '-d', path.join(dir, 'data'), '-a', '127.0.0.1', '-p', '0', '--silent'],
    { stdio: ['ignore', 'pipe', log] },
  );
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error('s3rver did not spawn');
  fs.writeFileSync(path.join(dir, S3RVER_PID_FILE), `${child.pid}\n`);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error('s3rver did not report its port within 30 s')), 30_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      killChild(child);
      reject(new Error(`${e.message}\n${out}\n${tail(logFile)}`));
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => fail(new Error(`s3rver exited ${code}`)));
    child.once('error', fail);
  });
  child.stdout?.resume();
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    killChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return {
    kind: 's3rver',
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async stop() {
      if (stopped) return;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      stopSync();
    },
    stopSync,
  };
}

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops servers left behind in `parent` by runs that died without their teardown (owner PID gone).
 * Only PIDs from those directories' PID files are signalled, and only when they still are ours.
 */
export function reapStaleServers(parent: string): void {
  if (!fs.existsSync(parent)) return;
  for (const entry of fs.readdirSync(parent)) {
    const dir = path.join(parent, entry);
    const owner = readPid(path.join(dir, OWNER_FILE));
    if (owner === undefined || pidAlive(owner)) continue;
    if (fs.existsSync(path.join(dir, 'ceph.conf'))) stopCephSync(dir, false);
    const s3rver = readPid(path.join(dir, S3RVER_PID_FILE));
    if (s3rver !== undefined && pidAlive(s3rver)) {
      let cmdline: string[] = [];
      try {
        cmdline = fs.readFileSync(`/proc/${s3rver}/cmdline`, 'utf8').split('\0');
      } catch {
        // it exited meanwhile
      }
      if (cmdline.includes(path.join(dir, 'data'))) process.kill(s3rver, 'SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a server whose state lives in `dir` (created; deleted again by stop()). */
export async function startS3Server(kind: S3ServerKind, dir: string): Promise<S3ServerHandle> {
  return kind === 'ceph' ? startCeph(path.resolve(dir)) : startS3rver(path.resolve(dir));
}

/**
 * A raw client for fixtures: path style, and checksums only where S3 requires them (Ceph RGW
 * refuses the SDK's default aws-chunked CRC32 bodies).
 */
export function makeClient(server: S3ServerInfo): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function createBucket(server: S3ServerInfo, name: string): Promise<void> {
  const client = makeClient(server);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}
