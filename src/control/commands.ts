// `bucketfs status` and `bucketfs sync`: find the daemons (pid files), ask them over their control
// sockets, print for people (aligned text; sync draws a progress line on a terminal) or for scripts
// (--json). Each returns the exit code.

import path from 'node:path';
import { listPidFiles } from '../daemon.js';
import { controlSocketPath } from './paths.js';
import { ask, ControlError } from './client.js';
import { type MountStatus, formatStatus, formatSyncProgress } from './status.js';

export interface Output {
  write(text: string): void;
}

export interface Terminal extends Output {
  readonly isTTY?: boolean;
}

const STATUS_TIMEOUT_MS = 10_000;

export async function statusCommand(mountpoint: string | undefined, json: boolean, out: Output, err: Output): Promise<number> {
  const targets = mountpoint === undefined ? await listPidFiles() : [{ mountpoint: path.resolve(mountpoint), pid: undefined }];
  const mounts: MountStatus[] = [];
  const unreachable: { mountpoint: string; pid: number | undefined; error: string }[] = [];
  for (const target of targets) {
    try {
      const answer = await ask(controlSocketPath(target.mountpoint), 'status', undefined, STATUS_TIMEOUT_MS);
      if (!answer.ok || !answer.status) throw new ControlError(answer.error ?? 'no status in the answer');
      mounts.push(answer.status);
    } catch (e) {
      unreachable.push({ mountpoint: target.mountpoint, pid: target.pid, error: (e as Error).message });
    }
  }
  if (json) {
    out.write(`${JSON.stringify({ mounts, unreachable }, null, 2)}\n`);
  } else {
    if (mounts.length > 0) out.write(`${mounts.map(formatStatus).join('\n\n')}\n`);
    else if (mountpoint === undefined) out.write('no bucketfs mount is running\n');
    for (const u of unreachable) {
      const who = u.pid === undefined ? '' : ` (pid ${u.pid} in its pid file)`;
      err.write(`bucketfs: ${u.mountpoint}${who}: ${u.error}\n`);
    }
  }
  return mountpoint !== undefined && mounts.length === 0 ? 1 : 0;
}

export async function syncCommand(mountpoint: string, out: Output, err: Terminal): Promise<number> {
  const dir = path.resolve(mountpoint);
  let drawn = false;
  const onProgress = err.isTTY
    ? (p: Parameters<typeof formatSyncProgress>[0]) => {
        err.write(`\r\x1b[K${formatSyncProgress(p)}`);
        drawn = true;
      }
    : undefined;
  let answer;
  try {
    answer = await ask(controlSocketPath(dir), 'sync', onProgress);
  } catch (e) {
    if (drawn) err.write('\r\x1b[K');
    const hint = e instanceof ControlError && /no bucketfs daemon/.test(e.message) ? ` (is ${dir} a bucketfs mount of this user?)` : '';
    err.write(`bucketfs: sync ${dir}: ${(e as Error).message}${hint}\n`);
    return 1;
  }
  if (drawn) err.write('\r\x1b[K');
  if (answer.ok) {
    out.write(`synced ${dir}: every byte written before this sync is in the bucket\n`);
    return 0;
  }
  for (const f of answer.failed ?? []) err.write(`bucketfs: sync ${dir}: ${f.path}: ${f.error}\n`);
  if (answer.error) err.write(`bucketfs: sync ${dir}: ${answer.error}\n`);
  err.write(`bucketfs: sync ${dir}: ${answer.failed?.length ?? 0} file(s) are not in the bucket yet; their data stays in the spool and uploads are retried\n`);
  return 1;
}
