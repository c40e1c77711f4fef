// What a mount serves, built from its config. One bucket (or prefix): its store (access checked
// first), spool folder, caches and S3Filesystem. Every bucket: a BucketAdmin (ListBuckets checked
// first) and an AllBuckets that builds each bucket's parts the same way on first use, sharing one
// block cache, disk cache and memory budget. run.ts mounts what this builds and tears it down.

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { MountConfig, S3Config } from './config.js';
import type { Logger } from './log.js';
import { BlockCache } from './cache/block-cache.js';
import { BucketBlockCache } from './cache/bucket-block-cache.js';
import { DiskCache } from './cache/disk-cache.js';
import { MemoryBudget } from './cache/memory-budget.js';
import { describeMountError } from './cli/advice.js';
import { AllBuckets } from './fs/all-buckets.js';
import { FsError } from './fs/errno.js';
import { S3Filesystem } from './fs/filesystem.js';
import { fileKey, toFsPath } from './fs/names.js';
import type { MountedFilesystem } from './fs/operations.js';
import { Spool } from './fs/spool.js';
import { spoolLeftovers } from './fs/spool-leftovers.js';
import { S3BucketAdmin, type BucketInfo } from './s3/bucket-admin.js';
import { endpointLabel, S3ObjectStore, type PresignedUrl, type S3ObjectStoreOptions } from './s3/s3-object-store.js';
import { findOrphanedUploads, type OrphanedUploads } from './s3/orphaned-uploads.js';
import { isStoreError, type StoreError } from './s3/store-error.js';
import { MountError } from './mount-error.js';

/** One bucket's part of a mount, for status and teardown. */
export interface ServedBucket {
  readonly name: string;
  readonly spool: Spool;
  readonly filesystem: MountedFilesystem;
}

export interface Served {
  readonly filesystem: MountedFilesystem;
  /** `s3://bucket/prefix/ at ENDPOINT`, or `every bucket at ENDPOINT`. */
  readonly description: string;
  /** The source column of /proc/mounts and df. */
  readonly fsName: string;
  /** The bucket, or '*' for every bucket. */
  readonly bucket: string;
  readonly prefix: string;
  readonly blocks: BlockCache;
  /** Where what could not be uploaded at unmount waits for the next mount. */
  readonly spoolDir: string;
  /** Each bucket's spool and filesystem: the one bucket, or every bucket opened so far. */
  buckets(): ServedBucket[];
  /** `bucketfs url`: a presigned GET or PUT of the object behind `path` (a path in the mount). */
  presign(path: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<PresignedUrl>;
  /** After the filesystem has synced and stopped: frees spools, sockets and the disk cache. */
  close(): Promise<void>;
}

/** What every bucket of a mount shares. */
interface Shared {
  readonly config: MountConfig;
  readonly log: Logger;
  readonly mountpoint: string;
  readonly budget: MemoryBudget;
  /** Lines the stores learn about the server (its kind, a capability it lacks). */
  readonly notice: (line: string) => void;
}

/** A bucket's store, spool and filesystem, and how to free them. */
interface BucketParts extends ServedBucket {
  readonly filesystem: S3Filesystem;
  close(): Promise<void>;
}

/** The folder of a mount's local state: one per endpoint, bucket and prefix, so a later mount finds it. */
function stateFolder(parent: string, s3: Pick<S3Config, 'endpoint' | 'bucket' | 'prefix'>): string {
  const id = createHash('sha256').update(`${s3.endpoint ?? 'aws'}|${s3.bucket}|${s3.prefix}`).digest('hex').slice(0, 16);
  return path.join(parent, `${s3.bucket}-${id}`);
}

async function openDiskCache(config: MountConfig, folderOf: (parent: string) => string, log: Logger): Promise<DiskCache | undefined> {
  if (config.cache.diskCacheDir === undefined) return undefined;
  const dir = folderOf(config.cache.diskCacheDir);
  try {
    return await DiskCache.open({ dir, capacityBytes: config.cache.diskCacheSizeBytes, blockSizeBytes: config.cache.blockSizeBytes, log });
  } catch (e) {
    throw new MountError(`cannot use the disk cache folder ${dir}: ${(e as Error).message} (choose another with --cache-dir)`);
  }
}

function newBlockCache(config: MountConfig, disk: DiskCache | undefined): BlockCache {
  return new BlockCache({ capacityBytes: Math.max(config.cache.cacheSizeBytes, config.cache.blockSizeBytes), blockSizeBytes: config.cache.blockSizeBytes, disk });
}

/**
 * The spool folder of `store` (one per bucket, prefix and endpoint, so leftovers of an earlier mount
 * are found; inside it a folder of this mount's own), the filesystem over it, and recovery of what
 * dead mounts of the bucket left. Closes the store when it fails.
 */
async function openBucketParts(store: S3ObjectStore, s3: S3Config, blocks: BlockCache, shared: Shared): Promise<BucketParts> {
  const { config, log } = shared;
  const bucketDir = stateFolder(config.write.spoolDir, s3);
  let spool: Spool;
  try {
    spool = await Spool.open({ bucketDir, capacityBytes: config.write.spoolSizeBytes, log, description: { mountpoint: shared.mountpoint, store: store.description } });
  } catch (e) {
    store.close();
    throw new MountError(`cannot use the spool folder ${bucketDir}: ${(e as Error).message} (choose another with --spool-dir)`);
  }
  const filesystem = new S3Filesystem({
    store,
    bucket: s3.bucket,
    blocks,
    budget: shared.budget,
    spool,
    cache: config.cache,
    posix: config.posix,
    write: config.write,
    journalDir: spool.journalDir,
    logger: log,
    allowOther: config.allowOther,
    // S3 keys are at most 1,024 bytes, the bucket's prefix included.
    maxKeyBytes: 1024 - Buffer.byteLength(s3.prefix),
  });
  if (!config.posix.readOnly) {
    // Listed before recovery starts uploads of its own (see orphaned-uploads.ts); one request, and
    // only after a crash. Aborting them need not hold the mount back.
    const orphans = await findOrphans(s3, log);
    await recoverSpool(filesystem, spool, log);
    if (orphans !== undefined) {
      void orphans.abort().then(
        (aborted) => aborted > 0 && log.info(`aborted ${aborted} incomplete multipart upload(s) that a bucketfs killed before it could finish them left`),
        (e: unknown) => log.warn(`aborting incomplete uploads of earlier mounts failed: ${(e as Error).message} (bucketfs cleanup ${s3.bucket} does it by hand)`),
      );
    }
  }
  return {
    name: s3.bucket,
    spool,
    filesystem,
    close: async () => {
      await spool.close().catch((e: Error) => log.error(`cleaning the spool folder ${spool.instanceDir}: ${e.message}`));
      store.close();
    },
  };
}

/** The uploads killed mounts of this bucket left; undefined when there is no journal or it cannot be read. Never fails the mount. */
async function findOrphans(s3: S3Config, log: Logger): Promise<OrphanedUploads | undefined> {
  if (s3.uploadJournalDir === undefined) return undefined;
  try {
    return await findOrphanedUploads(s3, s3.uploadJournalDir);
  } catch (e) {
    log.warn(`looking for incomplete uploads of earlier mounts failed: ${(e as Error).message} (bucketfs cleanup ${s3.bucket} does it by hand)`);
    return undefined;
  }
}

/** Finishes what dead mounts of the bucket left in its spool; never fails the mount. */
async function recoverSpool(filesystem: S3Filesystem, spool: Spool, log: Logger): Promise<void> {
  try {
    const { uploading, clean, conflicts, unrecoverable, aborted } = await filesystem.recover();
    if (uploading.length + clean.length + conflicts.length + unrecoverable.length + aborted.length > 0) {
      log.info(
        `recovery: ${uploading.length} file(s) uploading, ${clean.length} already done, ${conflicts.length} conflict(s), ` +
          `${unrecoverable.length} kept in the spool, ${aborted.length} incomplete multipart upload(s) aborted`,
      );
    }
  } catch (e) {
    // What was not finished stays in this mount's folder; the next mount takes it over again.
    log.error(`recovery of the spool left by earlier mounts failed: ${(e as Error).message}; its files stay in ${spool.adoptedDir}`);
  }
}

function storeOptions(config: MountConfig, log: Logger, notice: (line: string) => void): S3ObjectStoreOptions {
  // The request logger is always given: SIGUSR2 may turn debug on later, and the logger drops lines below its level.
  return { logger: (line, fields) => log.debug(line, fields), notice, capabilities: config.s3.capabilities };
}

/** One bucket, or a prefix of it: the store must answer a listing before anything else is made. */
export async function serveBucket(config: MountConfig, log: Logger, mountpoint: string, notice: (line: string) => void): Promise<Served> {
  const store = new S3ObjectStore(config.s3, storeOptions(config, log, notice));
  try {
    await store.checkAccess();
  } catch (e) {
    store.close();
    if (isStoreError(e)) throw new MountError(describeMountError(e, config.s3));
    throw e;
  }
  let disk: DiskCache | undefined;
  try {
    disk = await openDiskCache(config, (parent) => stateFolder(parent, config.s3), log);
  } catch (e) {
    store.close();
    throw e;
  }
  const blocks = newBlockCache(config, disk);
  const shared: Shared = { config, log, mountpoint, budget: new MemoryBudget(config.cache.memoryBudgetBytes), notice };
  let parts: BucketParts;
  try {
    parts = await openBucketParts(store, config.s3, blocks, shared);
  } catch (e) {
    await disk?.close();
    throw e;
  }
  return {
    filesystem: parts.filesystem,
    description: store.description,
    fsName: `bucketfs:${config.s3.bucket}`,
    bucket: config.s3.bucket,
    prefix: config.s3.prefix,
    blocks,
    spoolDir: parts.spool.instanceDir,
    buckets: () => [parts],
    presign: (file, method, expiresSeconds) => store.presign(fileKey(toFsPath(file)), method, expiresSeconds),
    close: async () => {
      await parts.close();
      await disk?.close().catch((e: Error) => log.error(`closing the disk cache failed: ${e.message}`));
    },
  };
}

/** One line for a ListBuckets that failed at mount time: what went wrong and what fixes it. */
function describeListError(e: StoreError, s3: S3Config): string {
  const where = endpointLabel(s3);
  if (e.code === 'AccessDenied') {
    return `access denied to the list of buckets at ${where}: the credentials lack s3:ListAllMyBuckets (grant it, or mount one bucket: bucketfs mount BUCKET MOUNTPOINT)`;
  }
  if (e.code === 'NotFound' || e.code === 'NoSuchBucket') return `${where} answered 404 to ListBuckets: check --endpoint (the server's address, without a bucket in it)`;
  return describeMountError(e, { ...s3, bucket: '*' });
}

/** The per-bucket config: the bucket, no prefix, and on AWS the bucket's own region when listed. */
function bucketConfig(s3: S3Config, bucket: BucketInfo): S3Config {
  const region = s3.endpoint === undefined ? (bucket.region ?? s3.region) : s3.region;
  return { ...s3, bucket: bucket.name, prefix: '', region };
}

/** One bucket's log in a mount of every bucket: each line names the bucket (paths in it are the bucket's). */
function bucketLog(log: Logger, bucket: string): Logger {
  const tagged = (write: (message: string) => void) => (message: string) => write(`${bucket}: ${message}`);
  return { ...log, error: tagged(log.error), warn: tagged(log.warn), info: tagged(log.info), debug: tagged(log.debug) };
}

/**
 * Every bucket the credentials can list, each opened on first use; those with spool leftovers at
 * once. Long on purpose: the list, the shared caches, the factory of a bucket, recovery and the
 * served surface are one composition, read in order.
 */
export async function serveAllBuckets(config: MountConfig, log: Logger, mountpoint: string, notice: (line: string) => void): Promise<Served> {
  // Every bucket's store learns the same things about the one server: each is said once.
  const said = new Set<string>();
  const noticeOnce = (line: string): void => {
    if (said.has(line)) return;
    said.add(line);
    notice(line);
  };
  const admin = new S3BucketAdmin(config.s3, storeOptions(config, log, noticeOnce));
  let listed: BucketInfo[];
  try {
    listed = await admin.listBuckets();
  } catch (e) {
    admin.close();
    if (isStoreError(e)) throw new MountError(describeListError(e, config.s3));
    throw e;
  }
  let disk: DiskCache | undefined;
  try {
    // One disk cache for every bucket: its keys are scoped by bucket (BucketBlockCache).
    disk = await openDiskCache(config, (parent) => stateFolder(parent, { endpoint: config.s3.endpoint, bucket: 'all-buckets', prefix: '*' }), log);
  } catch (e) {
    admin.close();
    throw e;
  }
  const blocks = newBlockCache(config, disk);
  const shared: Shared = { config, log, mountpoint, budget: new MemoryBudget(config.cache.memoryBudgetBytes), notice: noticeOnce };
  const filesystem = new AllBuckets<BucketParts>({
    admin,
    posix: config.posix,
    listTtlMs: config.cache.statTtlMs,
    listed,
    logger: log,
    open: async (bucket) => {
      const s3 = bucketConfig(config.s3, bucket);
      const own = bucketLog(log, bucket.name);
      const store = new S3ObjectStore(s3, storeOptions(config, own, shared.notice));
      return openBucketParts(store, s3, new BucketBlockCache(blocks, bucket.name), { ...shared, log: own });
    },
  });
  // Recovery runs at mount, as a mount of each bucket alone would run it.
  if (!config.posix.readOnly) {
    const leftovers = [];
    for (const bucket of listed) if (await spoolLeftovers(stateFolder(config.write.spoolDir, bucketConfig(config.s3, bucket)))) leftovers.push(bucket.name);
    if (leftovers.length > 0) log.info(`recovering what earlier mounts left in the spool of ${leftovers.length} bucket(s): ${leftovers.join(', ')}`);
    await filesystem.openNow(leftovers);
  }
  return {
    filesystem,
    description: admin.description,
    fsName: 'bucketfs:*',
    bucket: '*',
    prefix: '',
    blocks,
    spoolDir: config.write.spoolDir,
    buckets: () => filesystem.opened().map(([, parts]) => parts),
    presign: async (file, method, expiresSeconds) => {
      // /BUCKET/KEY: signing needs no request, so a store made for it costs nothing.
      const [, bucket = '', ...rest] = file.split('/');
      if (bucket === '' || rest.length === 0) throw new FsError('EISDIR', `${file} is a bucket, not a file`);
      const store = new S3ObjectStore(bucketConfig(config.s3, { name: bucket, region: undefined, createdAt: undefined }), storeOptions(config, log, shared.notice));
      try {
        return await store.presign(rest.join('/'), method, expiresSeconds);
      } finally {
        store.close();
      }
    },
    close: async () => {
      await filesystem.close();
      admin.close();
      await disk?.close().catch((e: Error) => log.error(`closing the disk cache failed: ${e.message}`));
    },
  };
}
