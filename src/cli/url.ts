// `bucketfs url FILE`: a presigned GET (or PUT) URL of the object behind a file in a mount, for curl
// and browsers. The mount is found among this user's live daemons (their pid files); the daemon,
// which holds the credentials, signs the URL over its control socket. Refused in one line each: a
// directory, a path outside every mount, an expiry past S3's 7 days.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ask, ControlError } from '../control/client.js';
import type { Output } from '../control/commands.js';
import { controlSocketPath } from '../control/paths.js';
import { listPidFiles } from '../daemon.js';
import { MAX_PRESIGN_SECONDS } from '../s3/presign.js';
import { durationOption } from './options.js';
import { UsageError } from './usage-error.js';

/** An hour: long enough to hand a link on, short enough that a leaked one dies soon. */
export const DEFAULT_EXPIRES_SECONDS = 3600;
const ASK_TIMEOUT_MS = 30_000;

export interface UrlOptions {
  readonly expires: string | undefined;
  readonly put: boolean;
}

/** --expires as whole seconds, from 1 s to 7 days. */
export function expiresOption(value: string | undefined): number {
  const ms = durationOption('expires', value);
  if (ms === undefined) return DEFAULT_EXPIRES_SECONDS;
  if (ms > MAX_PRESIGN_SECONDS * 1000) throw new UsageError(`--expires ${value} is longer than S3 allows for a presigned URL: 7d at most`);
  if (ms < 1000) throw new UsageError(`--expires ${value} is too short: 1s at least`);
  return Math.floor(ms / 1000);
}

/** `file` with every symlink of its folders resolved (the file itself too when it exists). */
async function realFile(file: string): Promise<string> {
  const absolute = path.resolve(file);
  const whole = await fsp.realpath(absolute).catch(() => undefined);
  if (whole !== undefined) return whole;
  const dir = await fsp.realpath(path.dirname(absolute)).catch(() => {
    throw new UsageError(`${file}: its folder ${path.dirname(absolute)} does not exist`);
  });
  return path.join(dir, path.basename(absolute));
}

/** The live mount holding `file` (the deepest one, should mounts nest), or undefined. */
async function mountOf(file: string): Promise<string | undefined> {
  const mounts = (await listPidFiles()).map((m) => m.mountpoint).filter((m) => file === m || file.startsWith(`${m}/`));
  return mounts.sort((a, b) => b.length - a.length)[0];
}

export async function urlCommand(file: string, options: UrlOptions, out: Output, err: Output): Promise<number> {
  const expiresSeconds = expiresOption(options.expires);
  const method = options.put ? 'PUT' : 'GET';
  const real = await realFile(file);
  const mountpoint = await mountOf(real);
  if (mountpoint === undefined) throw new UsageError(`${file} is not inside a bucketfs mount of this user (bucketfs status lists them)`);
  const stat = await fsp.stat(real).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' && options.put) return undefined;
    throw new UsageError(`${file}: ${e.code === 'ENOENT' ? 'no such file (--put makes a URL that creates it)' : e.message}`);
  });
  if (stat?.isDirectory()) throw new UsageError(`${file} is a directory: a presigned URL is for one file's object`);
  if (stat !== undefined && !stat.isFile()) throw new UsageError(`${file} is not a regular file`);
  let answer;
  try {
    answer = await ask(controlSocketPath(mountpoint), { op: 'presign', path: `/${path.relative(mountpoint, real)}`, method, expiresSeconds }, undefined, ASK_TIMEOUT_MS);
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    err.write(`bucketfs: url ${file}: ${e.message}\n`);
    return 1;
  }
  if (!answer.ok || answer.presigned === undefined) {
    err.write(`bucketfs: url ${file}: ${answer.error ?? 'the daemon sent no URL'}\n`);
    return 1;
  }
  out.write(`${answer.presigned.url}\n`);
  const headers = Object.entries(answer.presigned.headers);
  if (headers.length > 0) err.write(`bucketfs: the ${method} must send ${headers.map(([k, v]) => `-H '${k}: ${v}'`).join(' ')} (the mount's encryption; the signature covers them)\n`);
  return 0;
}
