// The composition root: config → what the mount serves (compose.ts: stores, caches, filesystem; one
// bucket or every bucket) → FUSE binding, plus the checks that must pass before anything is mounted,
// status and sync for the control socket, and the clean shutdown on a signal or an external unmount.
// Mount-time problems become a MountError with one sentence that names the cause and the fix.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { MountConfig } from './config.js';
import type { Logger } from './log.js';
import { serveAllBuckets, serveBucket, type Served, type ServedBucket } from './compose.js';
import { MountCounters } from './control/counters.js';
import type { BucketStatus, MountStatus, PendingStatus, SyncOutcome, SyncProgress, UploadStatus } from './control/status.js';
import type { OpenFilesActivity } from './fs/open-files.js';
import type { MountedFilesystem } from './fs/operations.js';
import { mount, unmount, unmountPath } from './fs/fuse/binding.js';
import { BindingError, loadFuse } from './fs/fuse/native.js';
import { MountError } from './mount-error.js';
import type { PresignedUrl } from './s3/s3-object-store.js';

export { MountError } from './mount-error.js';

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

/** Per-upload rates from the OpenFile counters. */
function uploadStatuses(activity: OpenFilesActivity, nowMs: number): UploadStatus[] {
  return activity.files.flatMap((f) => {
    const p = f.progress;
    if (!p) return [];
    const elapsedSeconds = Math.max((nowMs - p.startedAtMs) / 1000, 0.001);
    const bytesPerSecond = Math.max(0, p.doneBytes - p.doneAtStartBytes) / elapsedSeconds;
    const etaSeconds = bytesPerSecond > 0 ? (p.sizeBytes - p.doneBytes) / bytesPerSecond : null;
    return [{ path: f.path, sizeBytes: p.sizeBytes, doneBytes: p.doneBytes, bytesPerSecond: Math.round(bytesPerSecond), etaSeconds }];
  });
}

function openFilesOf(activity: OpenFilesActivity): MountStatus['openFiles'] {
  return { writing: activity.files.filter((f) => f.users > 0).length, reading: activity.readers };
}

/** One bucket's line of `bucketfs status` for a mount of every bucket. */
function bucketStatus(bucket: ServedBucket): BucketStatus {
  const activity = bucket.filesystem.activity();
  return {
    bucket: bucket.name,
    spool: { dir: bucket.spool.instanceDir, usedBytes: bucket.spool.usedBytes, capacityBytes: bucket.spool.capacityBytes },
    openFiles: openFilesOf(activity),
    uploads: { inFlight: activity.files.filter((f) => f.progress).length, pending: pendingStatuses(activity).length, pendingRetries: activity.pendingRetries },
  };
}

function pendingStatuses(activity: OpenFilesActivity): PendingStatus[] {
  return activity.files.flatMap((f) => (f.state === 'writing' || f.state === 'queued' || f.state === 'retrying' ? [{ path: f.path, sizeBytes: f.sizeBytes, state: f.state }] : []));
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
  const { filesystem, blocks } = served;

  // The S3 layer gives up within its attempts, their timeouts and the waits between them.
  const { maxAttempts, requestTimeoutMs, connectTimeoutMs, retryMaxDelayMs } = config.s3;
  const boundedOpTimeoutMs = maxAttempts * (requestTimeoutMs + connectTimeoutMs) + (maxAttempts - 1) * retryMaxDelayMs + 10_000;
  let fuse;
  try {
    fuse = await mount(filesystem, log, {
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
    counters.close();
    throw new MountError(`mounting ${mountpoint} failed: ${(e as Error).message} (is /dev/fuse there and the 'fuse' package installed?)`);
  }
  log.info(`mounted ${served.description} on ${mountpoint}`);
  for (const line of early) log.info(line);
  early = undefined;

  let resolveEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  let stopping: Promise<void> | undefined;

  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(watch);
      log.info(`unmounting ${mountpoint} (${reason})`);
      const failed = await filesystem.syncAll();
      for (const file of failed) log.error(`${file.path} could not be uploaded before unmount (${file.error}): its data stays in ${served.spoolDir} for the next mount`);
      if (await isMountPoint(mountpoint)) {
        await unmount(fuse).catch((e: Error) => log.error(`unmount of ${mountpoint} failed: ${e.message}`));
      }
      filesystem.stop();
      await served.close();
      counters.close();
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

  const status = (): MountStatus => {
    const activity = filesystem.activity();
    const cache = blocks.stats();
    const now = Date.now();
    const buckets = served.buckets();
    return {
      mountpoint,
      pid: process.pid,
      bucket: served.bucket,
      prefix: served.prefix,
      endpoint: config.s3.endpoint ?? 'AWS S3',
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round((now - startedAt.getTime()) / 1000),
      writeBack: config.write.writeBack,
      readOnly: config.posix.readOnly,
      cache: { sizeBytes: cache.sizeBytes, capacityBytes: blocks.capacityBytes, hits: cache.hits, misses: cache.misses, diskHits: cache.diskHits },
      spool: { dir: served.spoolDir, usedBytes: buckets.reduce((sum, b) => sum + b.spool.usedBytes, 0), capacityBytes: config.write.spoolSizeBytes },
      openFiles: openFilesOf(activity),
      uploads: { inFlight: uploadStatuses(activity, now), pending: pendingStatuses(activity), pendingRetries: activity.pendingRetries },
      ...(config.allBuckets ? { buckets: buckets.map(bucketStatus) } : {}),
      s3: { requests: counters.requests, failed: counters.failedRequests },
      errors: { count: counters.errors, last: counters.lastError, lastAt: counters.lastErrorAt },
    };
  };
  let syncStartedAt = 0;
  const syncProgress = (): SyncProgress => {
    const activity = filesystem.activity();
    const unsaved = activity.files.filter((f) => f.state !== 'clean');
    const uploads = uploadStatuses(activity, Date.now());
    const doneBytes = uploads.reduce((sum, u) => sum + u.doneBytes, 0);
    const totalBytes = unsaved.reduce((sum, f) => sum + (f.progress?.sizeBytes ?? f.sizeBytes), 0);
    const elapsedSeconds = Math.max((Date.now() - syncStartedAt) / 1000, 0.001);
    const sentBytes = activity.files.reduce((sum, f) => sum + (f.progress ? f.progress.doneBytes - f.progress.doneAtStartBytes : 0), 0);
    return { files: unsaved.length, doneBytes, totalBytes, bytesPerSecond: Math.round(sentBytes / elapsedSeconds) };
  };
  const sync = async (): Promise<SyncOutcome> => {
    syncStartedAt = Date.now();
    return { failed: await filesystem.syncAll() };
  };
  const reload = (): void => filesystem.dropMetadataCaches();
  // A path in the mount is its key below the mount's prefix (the core's rule, fileKey).
  const presign = (file: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<PresignedUrl> => served.presign(file, method, expiresSeconds);

  return { mountpoint, filesystem, ended, stop, status, sync, syncProgress, reload, presign };
}
