// The mountpoint before a mount: is it one already, is it a dead FUSE mount left by a daemon that
// died (healed by detaching it), and is it an empty directory. Each problem is one MountError line.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { unmountPath } from './fs/fuse/binding.js';
import { MountError } from './mount-error.js';

/** Is `dir` a mount point now? Reads /proc/self/mountinfo (octal escapes decoded). */
export async function isMountPoint(dir: string): Promise<boolean> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').some((line) => line.split(' ')[4] !== undefined && unescape(line.split(' ')[4] as string) === dir);
}

/**
 * A mountpoint whose daemon died answers ENOTCONN ("Transport endpoint is not connected") to
 * everything until it is detached. The next mount detaches it (fusermount -uz, which needs no daemon)
 * and returns the one line that tells the user so; undefined when there was nothing to heal.
 */
export async function healDeadMount(mountpoint: string): Promise<string | undefined> {
  const dir = path.resolve(mountpoint);
  const stat = await fsp.stat(dir).catch((e: NodeJS.ErrnoException) => e);
  // ECONNABORTED: the same, caught while the kernel was still tearing the connection down.
  const code = stat instanceof Error ? (stat as NodeJS.ErrnoException).code : undefined;
  if (code !== 'ENOTCONN' && code !== 'ECONNABORTED') return undefined;
  try {
    await unmountPath(dir);
  } catch (e) {
    throw new MountError(`mountpoint ${dir} is a dead FUSE mount (its daemon is gone) and detaching it failed (${(e as Error).message}): run 'fusermount -uz ${dir}'`);
  }
  return `healed ${dir}: its daemon had died and left a dead mount (Transport endpoint is not connected); detached it`;
}

/** `alone`: the mountpoint was the only argument (every bucket): a missing one may be a bucket's name. */
export async function checkMountpoint(mountpoint: string, alone = false): Promise<string> {
  const dir = path.resolve(mountpoint);
  const stat = await fsp.stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (stat instanceof Error) {
    if (stat.code === 'ENOENT') {
      const hint = alone ? ` — or, to mount the bucket '${mountpoint}', name a mountpoint after it` : '';
      throw new MountError(`mountpoint ${dir} does not exist: create it first (mkdir -p ${dir})${hint}`);
    }
    if (stat.code === 'ENOTCONN') {
      throw new MountError(`mountpoint ${dir} is a dead FUSE mount (its daemon is gone): run 'bucketfs unmount ${dir}' or 'fusermount -uz ${dir}' first`);
    }
    throw new MountError(`cannot use mountpoint ${dir}: ${stat.message}`);
  }
  if (!stat.isDirectory()) throw new MountError(`mountpoint ${dir} is not a directory: give an empty directory`);
  if (await isMountPoint(dir)) throw new MountError(`${dir} is already a mount point: unmount it first (bucketfs unmount ${dir})`);
  const entries = await fsp.readdir(dir);
  if (entries.length > 0) {
    throw new MountError(`mountpoint ${dir} is not empty (${entries.length} entries): mount on an empty directory so nothing is hidden`);
  }
  return dir;
}
