// Keys from an s3fs-style passwd file (`ACCESS_KEY:SECRET`, or `BUCKET:ACCESS_KEY:SECRET` lines), for
// /etc/fstab mounts and users coming from s3fs. The file must not be readable by group or others,
// as s3fs insists; the keys go into this process's environment (never argv), where the AWS SDK's
// standard chain and a background daemon started from here find them.

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class CredentialsError extends Error {}

export interface Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Where a passwd file is looked for when none is named: bucketfs's, then s3fs's. */
export function defaultPasswdFiles(): string[] {
  const home = os.homedir();
  return [path.join(home, '.passwd-bucketfs'), '/etc/passwd-bucketfs', path.join(home, '.passwd-s3fs'), '/etc/passwd-s3fs'];
}

/** The keys for `bucket` ('' for every bucket) in a passwd file's text: its own line first, else a line for every bucket. */
export function keysFromPasswd(text: string, bucket: string, file: string): Keys {
  let fallback: Keys | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length === 2) {
      fallback ??= keys(fields[0], fields[1], file, i);
    } else if (fields.length === 3) {
      if (fields[0] === bucket) return keys(fields[1], fields[2], file, i);
    } else {
      throw new CredentialsError(`${file} line ${i + 1} is not ACCESS_KEY:SECRET or BUCKET:ACCESS_KEY:SECRET`);
    }
  }
  if (fallback) return fallback;
  // '': a mount of every bucket, which takes the keys meant for every bucket.
  if (bucket === '') throw new CredentialsError(`${file} has no ACCESS_KEY:SECRET line, the keys a mount of every bucket uses: add one`);
  throw new CredentialsError(`${file} has no keys for bucket ${bucket}: add a line ${bucket}:ACCESS_KEY:SECRET`);
}

function keys(accessKeyId: string | undefined, secretAccessKey: string | undefined, file: string, index: number): Keys {
  if (!accessKeyId || !secretAccessKey) throw new CredentialsError(`${file} line ${index + 1} has an empty key or secret`);
  return { accessKeyId, secretAccessKey };
}

/** Reads `file` after checking that only its owner may read it. */
export async function readPasswdFile(file: string, bucket: string): Promise<Keys> {
  const stat = await fsp.stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new CredentialsError(`cannot read the passwd file ${file}: ${e.code === 'ENOENT' ? 'it does not exist' : e.message}`);
  });
  if ((stat.mode & 0o077) !== 0) {
    throw new CredentialsError(`the passwd file ${file} may be read by others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 ${file}`);
  }
  return keysFromPasswd(await fsp.readFile(file, 'utf8'), bucket, file);
}

/**
 * Puts passwd-file keys into the environment: from `explicit` when given; otherwise from the first
 * default passwd file that exists, but only when the environment names no keys or profile of its own.
 * Returns the file used, if any.
 */
export async function loadPasswdKeys(bucket: string, explicit: string | undefined, profile: string | undefined): Promise<string | undefined> {
  let file = explicit;
  if (file === undefined) {
    if (process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined || profile !== undefined) return undefined;
    for (const candidate of defaultPasswdFiles()) {
      if (await fsp.access(candidate).then(() => true, () => false)) {
        file = candidate;
        break;
      }
    }
    if (file === undefined) return undefined;
  }
  const { accessKeyId, secretAccessKey } = await readPasswdFile(file, bucket);
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  return file;
}
