// An S3Filesystem on a MemoryStore for unit and model tests: limits small enough that multipart
// uploads, part copies and block boundaries happen on a few KiB, a spool and a rename journal in a
// fresh temp dir, and one test clock shared by the store, the caches and the core (no sleeping).
// useFsFixtures() registers an afterEach that removes every temp dir it made.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { BlockCache } from '../../src/cache/block-cache.js';
import { MemoryBudget } from '../../src/cache/memory-budget.js';
import type { CacheConfig, PosixConfig, WriteConfig } from '../../src/config.js';
import { toErrno, type ErrnoName } from '../../src/fs/errno.js';
import { OpenFlags, S3Filesystem } from '../../src/fs/filesystem.js';
import { Spool } from '../../src/fs/spool.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { deferred } from './deferred.js';
import { MemoryStore } from './memory-store.js';

/** The server's minimum part size in these tests. */
export const MIN_PART_BYTES = 1024;
/** The first multipart part size: files of this size or more are uploaded in parts. */
export const PART_BYTES = 4096;
/** The unit of ranged GETs and of the block cache. */
export const BLOCK_BYTES = 1024;
export const UID = 1000;
export const GID = 100;

/** A clock the test moves by hand; starts at a whole second so Last-Modified is exact. */
export class TestClock {
  nowMs: number;

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  readonly now = (): number => this.nowMs;

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface FsFixtureOptions {
  /** Share a bucket with another fixture (a second mount, or the same mount after a restart). */
  readonly store?: MemoryStore;
  readonly clock?: TestClock;
  /** Share the rename journal folder with another fixture (recovery after a crash). */
  readonly journalDir?: string;
  /** Each fixture gets a fresh logger by default; pass one to read what the filesystem logs. */
  readonly logger?: Logger;
  readonly cache?: Partial<CacheConfig>;
  readonly posix?: Partial<PosixConfig>;
  readonly write?: Partial<WriteConfig>;
  /** First retry of a failed upload, ms (the filesystem's default is a second). */
  readonly uploadRetryDelayMs?: number;
  /** Several users (--allow-other): callers own what they make and POSIX ownership rules apply. */
  readonly allowOther?: boolean;
  /** Longest key, bytes (the filesystem's default is S3's 1,024). */
  readonly maxKeyBytes?: number;
}

export class FsFixture {
  /** Operations a test started and did not wait for (a release the kernel sends after close returns). */
  readonly inFlight: Promise<unknown>[] = [];

  constructor(
    readonly fs: S3Filesystem,
    readonly store: MemoryStore,
    readonly spool: Spool,
    readonly clock: TestClock,
    readonly journalDir: string,
  ) {}

  /** Waits for every operation in inFlight; rethrows the first failure. */
  async settleInFlight(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
  }

  /** create + write + flush + release: the bytes are in the bucket when this returns. */
  async writeFile(filePath: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const fh = await this.fs.create(filePath, mode);
    try {
      await this.fs.write(fh, 0, Buffer.from(data));
      await this.fs.flush(fh);
    } finally {
      await this.fs.release(fh);
    }
  }

  /** open read-only + read to the end + release. */
  async readFile(filePath: string): Promise<Buffer> {
    const fh = await this.fs.open(filePath, OpenFlags.O_RDONLY);
    try {
      return await this.readAll(fh);
    } finally {
      await this.fs.release(fh);
    }
  }

  /** Reads a handle from offset 0 until a read comes back empty, in chunks that cross blocks. */
  async readAll(fh: number, chunkBytes = 1500): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for (let offset = 0; ; ) {
      const chunk = await this.fs.read(fh, offset, chunkBytes);
      if (chunk.length === 0) return Buffer.concat(chunks);
      chunks.push(Buffer.from(chunk));
      offset += chunk.length;
    }
  }

  /** Names in a directory listing, sorted. */
  async names(dirPath: string): Promise<string[]> {
    const { entries } = await this.fs.readdir(dirPath);
    return entries.map((e) => e.name).sort();
  }

  /** The body of a key as another client of the bucket reads it. */
  body(key: string): Buffer | undefined {
    return this.store.getObject(key)?.body;
  }

  /** Files in the spool folder, sorted. */
  async spoolFiles(): Promise<string[]> {
    return (await fsp.readdir(this.spool.dir)).sort();
  }

  /**
   * What SIGKILL leaves: background work stops, descriptors close, nothing is uploaded or deleted,
   * and the spool folder's owner counts as dead for the next fixture on the same spool dir.
   */
  async crash(): Promise<void> {
    this.fs.stop();
    await this.spool.abandon();
  }
}

/** The errno an operation fails with, as the FUSE binding would answer it; throws if it succeeds. */
export async function errnoOf(operation: Promise<unknown>): Promise<ErrnoName> {
  try {
    await operation;
  } catch (e) {
    return toErrno(e).name;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

/** Deterministic bytes that do not repeat with any small period, so a misplaced part shows. */
export function patternBytes(sizeBytes: number, seed = 'seed'): Buffer {
  const out = Buffer.alloc(sizeBytes);
  for (let at = 0, i = 0; at < sizeBytes; i++) {
    at += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, at);
  }
  return out;
}

/** A factory of fixtures whose temp dirs are removed after each test. */
export function useFsFixtures(): (options?: FsFixtureOptions) => Promise<FsFixture> {
  const dirs: string[] = [];
  const made: FsFixture[] = [];
  afterEach(async () => {
    for (const t of made.splice(0)) t.fs.stop();
    for (const dir of dirs.splice(0)) await fsp.rm(dir, { recursive: true, force: true });
  });
  return async (options = {}) => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-fs-test-'));
    dirs.push(dir);
    const fixture = await createFsFixture(dir, options);
    made.push(fixture);
    return fixture;
  };
}

/** Builds a fixture whose spool lives in `dir` (which the caller removes). */
export async function createFsFixture(dir: string, options: FsFixtureOptions = {}): Promise<FsFixture> {
  const clock = options.clock ?? new TestClock();
  const store = options.store ?? new MemoryStore({ limits: { minPartSizeBytes: MIN_PART_BYTES }, now: clock.now });
  const cache: CacheConfig = {
    blockSizeBytes: BLOCK_BYTES,
    cacheSizeBytes: 64 * BLOCK_BYTES,
    statTtlMs: 1_000,
    negativeTtlMs: 1_000,
    maxStatEntries: 1_000,
    readAheadMaxBytes: 4 * BLOCK_BYTES,
    memoryBudgetBytes: 1024 * 1024,
    statFromListing: false,
    metadataReadAhead: 8,
    keepPageCache: true,
    diskCacheDir: undefined,
    diskCacheSizeBytes: 0,
    ...options.cache,
  };
  const posix: PosixConfig = { uid: UID, gid: GID, fileMode: 0o644, dirMode: 0o755, readOnly: false, atime: false, capacityBytes: 2 ** 50, ...options.posix };
  const write: WriteConfig = {
    partSizeBytes: PART_BYTES,
    uploadConcurrency: 2,
    spoolDir: path.join(dir, 'spool'),
    spoolSizeBytes: 16 * 1024 * 1024,
    writeBack: false,
    backgroundUploads: 4,
    ...options.write,
  };
  const logger = options.logger ?? silentLogger;
  const spool = await Spool.open({ bucketDir: write.spoolDir, capacityBytes: write.spoolSizeBytes, log: logger });
  const journalDir = options.journalDir ?? spool.journalDir;
  const fs = new S3Filesystem({
    store,
    bucket: 'test-bucket',
    blocks: new BlockCache({ capacityBytes: cache.cacheSizeBytes, blockSizeBytes: cache.blockSizeBytes }),
    budget: new MemoryBudget(cache.memoryBudgetBytes),
    spool,
    cache,
    posix,
    write,
    journalDir,
    now: clock.now,
    uploadRetryDelayMs: options.uploadRetryDelayMs,
    logger,
    allowOther: options.allowOther,
    maxKeyBytes: options.maxKeyBytes,
  });
  return new FsFixture(fs, store, spool, clock, journalDir);
}

/** A promise the test settles by hand, to hold a store call (delayNext) at a chosen point. */
export function gate(): { readonly promise: Promise<void>; readonly open: () => void } {
  const held = deferred();
  return { promise: held.promise, open: () => held.resolve() };
}

/** Lets every pending callback run, so an operation reaches the store call a gate holds. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
