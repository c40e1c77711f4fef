// What `bucketfs status` and `bucketfs sync` show of a running mount, from the filesystem's activity,
// the block cache and the mount's counters: plain data for the control socket.

import type { MountConfig } from './config.js';
import type { Served, ServedBucket } from './compose.js';
import type { MountCounters } from './control/counters.js';
import type { BucketStatus, MountStatus, PendingStatus, SyncProgress, UploadStatus } from './control/status.js';
import type { OpenFilesActivity } from './fs/open-files.js';

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

export interface StatusInputs {
  readonly config: MountConfig;
  readonly mountpoint: string;
  readonly served: Served;
  readonly counters: MountCounters;
  readonly startedAt: Date;
}

export function mountStatus({ config, mountpoint, served, counters, startedAt }: StatusInputs): MountStatus {
  const activity = served.filesystem.activity();
  const { blocks } = served;
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
}

/** How far a `bucketfs sync` started at `syncStartedAtMs` has got. */
export function syncProgressOf(activity: OpenFilesActivity, syncStartedAtMs: number): SyncProgress {
  const unsaved = activity.files.filter((f) => f.state !== 'clean');
  const uploads = uploadStatuses(activity, Date.now());
  const doneBytes = uploads.reduce((sum, u) => sum + u.doneBytes, 0);
  const totalBytes = unsaved.reduce((sum, f) => sum + (f.progress?.sizeBytes ?? f.sizeBytes), 0);
  const elapsedSeconds = Math.max((Date.now() - syncStartedAtMs) / 1000, 0.001);
  const sentBytes = activity.files.reduce((sum, f) => sum + (f.progress ? f.progress.doneBytes - f.progress.doneAtStartBytes : 0), 0);
  return { files: unsaved.length, doneBytes, totalBytes, bytesPerSecond: Math.round(sentBytes / elapsedSeconds) };
}
