// The composition root: config → store → caches → filesystem → FUSE binding, plus the checks that
// must pass before anything is mounted and the clean shutdown on a signal or an external unmount.
// Mount-time problems become a MountError with one sentence that names the cause and the fix.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { MountConfig } from './config.js';
import type { Logger } from './log.js';
import { BlockCache } from './cache/block-cache.js';
import { MemoryBudget } from './cache/memory-budget.js';
import { S3Filesystem } from './fs/filesystem.js';
import { Spool } from './fs/spool.js';
import { mount, unmount, unmountPath } from './fs/fuse/binding.js';
import { BindingError, loadFuse } from './fs/fuse/native.js';
import { S3ObjectStore } from './s3/s3-object-store.js';
import { describeMountError } from './s3/errors.js';
import { isStoreError } from './s3/store-error.js';

export class MountError extends Error {
  override readonly name = 'MountError';
}

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

export async function checkMountpoint(mountpoint: string): Promise<string> {
  const dir = path.resolve(mountpoint);
  const stat = await fsp.stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (stat instanceof Error) {
    if (stat.code === 'ENOENT') throw new MountError(`mountpoint ${dir} does not exist: create it first (mkdir -p ${dir})`);
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

export interface RunningMount {
  readonly mountpoint: string;
  readonly filesystem: S3Filesystem;
  /** Resolves when the mount has ended (stop() or an external unmount). */
  readonly ended: Promise<void>;
  stop(reason: string): Promise<void>;
}

export async function startMount(config: MountConfig, log: Logger): Promise<RunningMount> {
  // First, so an install that skipped or failed the rebuild fails before anything else is touched.
  try {
    loadFuse();
  } catch (e) {
    throw e instanceof BindingError ? new MountError(e.message) : e;
  }
  const mountpoint = await checkMountpoint(config.mountpoint);
  const store = new S3ObjectStore(config.s3, { logger: log.debugEnabled ? (line) => log.debug(line) : undefined });
  try {
    await store.checkAccess();
  } catch (e) {
    store.close();
    if (isStoreError(e)) throw new MountError(describeMountError(e, config.s3));
    throw e;
  }

  // One spool folder per bucket, prefix and endpoint, so leftovers of an earlier mount are found.
  const mountId = createHash('sha256').update(`${config.s3.endpoint ?? 'aws'}|${config.s3.bucket}|${config.s3.prefix}`).digest('hex').slice(0, 16);
  const stateDir = path.join(config.write.spoolDir, `${config.s3.bucket}-${mountId}`);
  const spool = new Spool(path.join(stateDir, 'files'), config.write.spoolSizeBytes, log);
  try {
    await spool.init();
  } catch (e) {
    store.close();
    throw new MountError(`cannot use the spool folder ${spool.dir}: ${(e as Error).message} (choose another with --spool-dir)`);
  }
  const filesystem = new S3Filesystem({
    store,
    bucket: config.s3.bucket,
    blocks: new BlockCache({ capacityBytes: Math.max(config.cache.cacheSizeBytes, config.cache.blockSizeBytes), blockSizeBytes: config.cache.blockSizeBytes }),
    budget: new MemoryBudget(config.cache.memoryBudgetBytes),
    spool,
    cache: config.cache,
    posix: config.posix,
    write: config.write,
    journalDir: path.join(stateDir, 'renames'),
    logger: log,
    allowOther: config.allowOther,
    // S3 keys are at most 1,024 bytes, the mount's prefix included.
    maxKeyBytes: 1024 - Buffer.byteLength(config.s3.prefix),
  });
  if (!config.posix.readOnly) await filesystem.recover();

  const boundedOpTimeoutMs = config.s3.maxAttempts * (config.s3.requestTimeoutMs + config.s3.connectTimeoutMs) + 10_000;
  let fuse;
  try {
    fuse = await mount(filesystem, log, {
      mountpoint,
      fsName: `bucketfs:${config.s3.bucket}`,
      allowOther: config.allowOther,
      atime: config.posix.atime,
      debugFuse: false,
      boundedOpTimeoutMs,
      attrTimeoutSec: 1,
    });
  } catch (e) {
    store.close();
    throw new MountError(`mounting ${mountpoint} failed: ${(e as Error).message} (is /dev/fuse there and the 'fuse' package installed?)`);
  }
  log.info(`mounted ${store.description} on ${mountpoint}`);

  let resolveEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  let stopping: Promise<void> | undefined;

  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(watch);
      log.info(`unmounting ${mountpoint} (${reason})`);
      const failed = await filesystem.syncAll();
      for (const file of failed) log.error(`${file} could not be uploaded before unmount: its data stays in ${spool.dir}`);
      if (await isMountPoint(mountpoint)) {
        await unmount(fuse).catch((e: Error) => log.error(`unmount of ${mountpoint} failed: ${e.message}`));
      }
      store.close();
      resolveEnded();
    })();
    return stopping;
  };
  // Someone ran `fusermount -u` or `umount` directly: notice it and end the daemon.
  const watch = setInterval(() => {
    void isMountPoint(mountpoint).then((mounted) => {
      if (!mounted) void stop('unmounted from outside');
    });
  }, 2_000);
  watch.unref();

  return { mountpoint, filesystem, ended, stop };
}
