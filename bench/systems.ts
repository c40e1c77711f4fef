// The systems compared: bucketfs (the real CLI, default options, in the foreground as a child
// process), Debian's s3fs and `rclone mount --vfs-cache-mode writes`, each on a fresh mountpoint per
// run so every run starts cold, and the direct-SDK bound (no mount: the worker talks S3 itself).
// Credentials go through files or the environment, never argv. A mount is ended by mountpoint
// (fusermount -u), then its daemon by PID; the Cleanup registry does the same after a failure.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUCKETFS_BIN, isMounted, runTool, waitFor } from '../test/support/mount-session.js';
import type { S3ServerInfo } from '../test/support/s3-server.js';
import type { Cleanup } from './cleanup.js';

export const SYSTEM_IDS = ['sdk', 'bucketfs', 's3fs', 'rclone'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];
export type MountedSystemId = Exclude<SystemId, 'sdk'>;

export const SYSTEM_LABELS: Record<SystemId, string> = {
  sdk: 'direct SDK',
  bucketfs: 'bucketfs',
  s3fs: 's3fs',
  rclone: 'rclone',
};

/** Commands each system needs, and the Debian packages that provide them. */
export const SYSTEM_TOOLS: Record<SystemId, readonly { command: string; aptPackage: string }[]> = {
  sdk: [],
  bucketfs: [{ command: 'fusermount', aptPackage: 'fuse' }],
  s3fs: [{ command: 's3fs', aptPackage: 's3fs' }],
  rclone: [{ command: 'rclone', aptPackage: 'rclone' }],
};

export interface MountRequest {
  readonly server: S3ServerInfo;
  /** What the mount talks to: the server itself or the delaying proxy in front of it. */
  readonly endpoint: string;
  readonly bucket: string;
  /** A fresh directory for the mountpoint and the system's state (config, cache, spool, log). */
  readonly workDir: string;
  /** bucketfs only: log every S3 request (for the request-count run). */
  readonly debug: boolean;
}

export interface MountedSystem {
  readonly dir: string;
  readonly pid: number;
  /** The daemon's stdout and stderr. */
  readonly logFile: string;
  /** Unmounts by mountpoint, ends the daemon by PID; idempotent; never leaves either behind. */
  unmount(): Promise<void>;
}

interface LaunchPlan {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** The command lines as they appear in BENCHMARKS.md (placeholders for paths and keys), and what to know about them. */
export const SYSTEM_COMMANDS: Record<MountedSystemId, { readonly command: string; readonly note: string }> = {
  bucketfs: {
    command: 'bin/bucketfs mount bench MNT --foreground --endpoint URL',
    note: 'default options; keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; `--debug` added for the request-count run',
  },
  s3fs: {
    command: 's3fs bench MNT -f -o url=URL -o use_path_request_style -o passwd_file=FILE',
    note: 'default caching: stat cache on, no `use_cache` disk cache',
  },
  rclone: {
    command: 'rclone mount bench:bench MNT --config FILE --vfs-cache-mode writes --cache-dir DIR',
    note: 'remote `type = s3`, `provider = Ceph` (or `Other` for s3rver), `endpoint = URL`, path style; default `--vfs-write-back 5s`',
  },
};

function planBucketfs(req: MountRequest, mnt: string): LaunchPlan {
  return {
    command: process.execPath,
    args: [BUCKETFS_BIN, 'mount', req.bucket, mnt, '--foreground', '--endpoint', req.endpoint, ...(req.debug ? ['--debug'] : [])],
    env: {
      AWS_ACCESS_KEY_ID: req.server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: req.server.secretAccessKey,
      AWS_REGION: req.server.region,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The pid file, default log and spool of this mount stay in its work dir.
      XDG_CACHE_HOME: path.join(req.workDir, 'cache'),
    },
  };
}

function planS3fs(req: MountRequest, mnt: string): LaunchPlan {
  const passwd = path.join(req.workDir, 's3fs.passwd');
  fs.writeFileSync(passwd, `${req.server.accessKeyId}:${req.server.secretAccessKey}\n`, { mode: 0o600 });
  return {
    command: 's3fs',
    args: [req.bucket, mnt, '-f', '-o', `url=${req.endpoint}`, '-o', 'use_path_request_style', '-o', `passwd_file=${passwd}`],
    env: {},
  };
}

function planRclone(req: MountRequest, mnt: string): LaunchPlan {
  const config = path.join(req.workDir, 'rclone.conf');
  const provider = req.server.kind === 'ceph' ? 'Ceph' : 'Other';
  const lines = [
    '[bench]',
    'type = s3',
    `provider = ${provider}`,
    'env_auth = false',
    `access_key_id = ${req.server.accessKeyId}`,
    `secret_access_key = ${req.server.secretAccessKey}`,
    `endpoint = ${req.endpoint}`,
    `region = ${req.server.region}`,
    'force_path_style = true',
  ];
  fs.writeFileSync(config, `${lines.join('\n')}\n`, { mode: 0o600 });
  return {
    command: 'rclone',
    args: ['mount', `bench:${req.bucket}`, mnt, '--config', config, '--vfs-cache-mode', 'writes', '--cache-dir', path.join(req.workDir, 'rclone-cache')],
    env: {},
  };
}

const PLANS: Record<MountedSystemId, (req: MountRequest, mnt: string) => LaunchPlan> = {
  bucketfs: planBucketfs,
  s3fs: planS3fs,
  rclone: planRclone,
};

const MOUNT_TIMEOUT_MS = 60_000;

/**
 * The environment minus every AWS_* setting: the systems measured get only the server's keys, never
 * the user's profile, region or CA bundle (rclone 1.60 refuses to start with AWS_CA_BUNDLE set).
 */
export function withoutAwsSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
}

function tailOf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

function exitedPromise(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Mounts `system` on `workDir/mnt` and resolves once the kernel lists the mount. */
export async function mountSystem(system: MountedSystemId, req: MountRequest, cleanup: Cleanup): Promise<MountedSystem> {
  const mnt = path.join(req.workDir, 'mnt');
  fs.mkdirSync(mnt, { recursive: true });
  const plan = PLANS[system](req, mnt);
  const logFile = path.join(req.workDir, `${system}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(plan.command, plan.args, { env: { ...withoutAwsSettings(process.env), ...plan.env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${system}: could not start ${plan.command}`);
  const exited = exitedPromise(child);
  child.on('error', () => undefined);

  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const end = async (): Promise<void> => {
    // The user's way first: unmount by mountpoint. Each daemon then exits by itself (bucketfs
    // after finishing uploads); a daemon that does not is ended by PID.
    if (await isMounted(mnt)) {
      for (let attempt = 0; attempt < 10 && (await isMounted(mnt)); attempt++) {
        const out = await runTool('fusermount', ['-u', mnt], { timeoutMs: 60_000 }).catch(() => undefined);
        if (out?.code === 0) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (alive()) await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (alive()) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    if (alive()) {
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    if (await isMounted(mnt)) await runTool('fusermount', ['-uz', mnt], { timeoutMs: 30_000 });
    if (alive()) throw new Error(`${system} daemon ${pid} survived SIGKILL`);
  };
  const release = cleanup.add(`unmount ${system} at ${mnt}`, end);

  const appeared = await waitFor(async () => !alive() || (await isMounted(mnt)), MOUNT_TIMEOUT_MS, 50);
  if (!appeared || !alive()) {
    await release();
    const why = alive() ? `no mount after ${MOUNT_TIMEOUT_MS / 1000} s` : `it exited (${child.exitCode ?? child.signalCode})`;
    throw new Error(`${system} did not mount: ${why}; log:\n${tailOf(logFile)}`);
  }
  return { dir: mnt, pid, logFile, unmount: release };
}
