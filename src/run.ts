// The composition root: config → what the mount serves (compose.ts: stores, caches, filesystem; one
// bucket or every bucket) → FUSE binding, plus the checks that must pass before anything is mounted,
// status and sync for the control socket, and the clean shutdown on a signal or an external unmount.
// Mount-time problems become a MountError with one sentence that names the cause and the fix.

import type { MountConfig } from './config.js';
import type { Logger } from './log.js';
import { serveAllBuckets, serveBucket, type Served } from './compose.js';
import { MountCounters } from './control/counters.js';
import type { MountStatus, SyncOutcome, SyncProgress } from './control/status.js';
import { mountStatus, syncProgressOf } from './mount-status.js';
import { checkMountpoint, isMountPoint } from './mountpoint.js';
import type { MountedFilesystem } from './fs/operations.js';
import { mount, unmount } from './fs/fuse/binding.js';
import { BindingError, loadFuse } from './fs/fuse/native.js';
import { MountError } from './mount-error.js';
import type { PresignedUrl } from './s3/s3-object-store.js';

export { MountError } from './mount-error.js';

export { checkMountpoint, healDeadMount, isMountPoint } from './mountpoint.js';

export interface RunningMount {
  readonly mountpoint: string;
  readonly filesystem: MountedFilesystem;
  /** Resolves when the mount has ended (stop() or an external unmount). */
  readonly ended: Promise<void>;
  stop(reason: string): Promise<void>;
  /** What `bucketfs status` shows. */
  status(): MountStatus;
  /** `bucketfs sync`: uploads every byte written so far; reports what failed. */
  sync(): Promise<SyncOutcome>;
  syncProgress(): SyncProgress;
  /** SIGHUP: drop cached metadata. */
  reload(): void;
  /** `bucketfs url`: a presigned GET or PUT of the object behind `path` (a path in the mount). */
  presign(path: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<PresignedUrl>;
}

/**
 * The one way a mount ends (a signal, `bucketfs unmount`, or `fusermount -u` from outside, noticed
 * within 2 s): upload what is pending, unmount, free what `served` holds. Idempotent.
 */
function stopper(
  served: Served,
  mountpoint: string,
  log: Logger,
  unmountFuse: () => Promise<void>,
  afterClose: () => void,
): { stop: (reason: string) => Promise<void>; ended: Promise<void> } {
  const { filesystem } = served;
  let resolveEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(watch);
      log.info(`unmounting ${mountpoint} (${reason})`);
      const failed = await filesystem.syncAll();
      for (const file of failed) log.error(`${file.path} could not be uploaded before unmount (${file.error}): its data stays in ${served.spoolDir} for the next mount`);
      if (await isMountPoint(mountpoint)) await unmountFuse().catch((e: Error) => log.error(`unmount of ${mountpoint} failed: ${e.message}`));
      filesystem.stop();
      await served.close();
      afterClose();
      resolveEnded();
    })();
    return stopping;
  };
  const watch = setInterval(() => {
    void isMountPoint(mountpoint).then((mounted) => {
      if (!mounted) void stop('unmounted from outside');
    });
  }, 2_000);
  watch.unref();
  return { stop, ended };
}

/** Mounts what `served` serves on `mountpoint`; on failure frees it and says why in one line. */
async function mountServed(config: MountConfig, served: Served, mountpoint: string, log: Logger): Promise<Awaited<ReturnType<typeof mount>>> {
  const { filesystem } = served;
  // The S3 layer gives up within its attempts, their timeouts and the waits between them.
  const { maxAttempts, requestTimeoutMs, connectTimeoutMs, retryMaxDelayMs } = config.s3;
  const boundedOpTimeoutMs = maxAttempts * (requestTimeoutMs + connectTimeoutMs) + (maxAttempts - 1) * retryMaxDelayMs + 10_000;
  try {
    return await mount(filesystem, log, {
      mountpoint,
      fsName: served.fsName,
      allowOther: config.allowOther,
      atime: config.posix.atime,
      debugFuse: false,
      boundedOpTimeoutMs,
      attrTimeoutSec: 1,
      keepPageCache: config.cache.keepPageCache,
    });
  } catch (e) {
    filesystem.stop();
    await served.close().catch(() => undefined);
    throw new MountError(`mounting ${mountpoint} failed: ${(e as Error).message} (is /dev/fuse there and the 'fuse' package installed?)`);
  }
}

export async function startMount(config: MountConfig, baseLog: Logger): Promise<RunningMount> {
  // First, so an install that skipped or failed the rebuild fails before anything else is touched.
  try {
    loadFuse();
  } catch (e) {
    throw e instanceof BindingError ? new MountError(e.message) : e;
  }
  const counters = new MountCounters();
  const log = counters.counting(baseLog);
  const startedAt = new Date();
  const mountpoint = await checkMountpoint(config.mountpoint, config.allBuckets);
  // What the stores learn of the server before the mount is up waits for it: a failed mount says
  // one line and nothing else.
  let early: string[] | undefined = [];
  const notice = (line: string): void => void (early ? early.push(line) : log.info(line));
  let served: Served;
  try {
    served = config.allBuckets ? await serveAllBuckets(config, log, mountpoint, notice) : await serveBucket(config, log, mountpoint, notice);
  } catch (e) {
    counters.close();
    throw e;
  }
  const { filesystem } = served;
  const fuse = await mountServed(config, served, mountpoint, log).catch((e: unknown) => {
    counters.close();
    throw e;
  });
  log.info(`mounted ${served.description} on ${mountpoint}`);
  for (const line of early) log.info(line);
  early = undefined;

  const { stop, ended } = stopper(served, mountpoint, log, () => unmount(fuse), () => counters.close());

  const status = (): MountStatus => mountStatus({ config, mountpoint, served, counters, startedAt });
  let syncStartedAt = 0;
  const syncProgress = (): SyncProgress => syncProgressOf(filesystem.activity(), syncStartedAt);
  const sync = async (): Promise<SyncOutcome> => {
    syncStartedAt = Date.now();
    return { failed: await filesystem.syncAll() };
  };
  const reload = (): void => filesystem.dropMetadataCaches();
  // A path in the mount is its key below the mount's prefix (the core's rule, fileKey).
  const presign = (file: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<PresignedUrl> => served.presign(file, method, expiresSeconds);

  return { mountpoint, filesystem, ended, stop, status, sync, syncProgress, reload, presign };
}
