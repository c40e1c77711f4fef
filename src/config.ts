// MountConfig: everything a mount is configured with, grouped by the layer that reads it, with every
// default in one place (DEFAULTS). The CLI builds it; nothing below src/run.ts parses flags.

import os from 'node:os';
import type { LogFormat, LogLevel } from './log.js';
import type { ServerCapabilities } from './s3/capabilities.js';
import path from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** How the SDK computes request checksums: `when-required` is what S3-compatible servers accept. */
export type ChecksumMode = 'when-required' | 'when-supported';

/**
 * Server-side encryption of what a mount writes: SSE-S3 (the server's keys), SSE-KMS (a KMS key,
 * the bucket's default one when keyId is undefined) or SSE-C (the customer's 32-byte key, which
 * every read and copy must send too).
 */
export type Encryption =
  | { readonly kind: 's3' }
  | { readonly kind: 'kms'; readonly keyId: string | undefined }
  | { readonly kind: 'c'; readonly key: Uint8Array };

export interface S3Config {
  readonly bucket: string;
  /** Key prefix the mount shows, '' or ending in '/'. */
  readonly prefix: string;
  /** Custom endpoint URL (MinIO, RustFS, Ceph RGW...); undefined for AWS S3 (or AWS_ENDPOINT_URL). */
  readonly endpoint: string | undefined;
  /** Any string works with a custom endpoint. Default: from the AWS chain, else us-east-1. */
  readonly region: string | undefined;
  /** Path-style addressing (bucket in the path). Default: on with a custom endpoint. */
  readonly pathStyle: boolean;
  /** Named profile of ~/.aws/config and ~/.aws/credentials. */
  readonly profile: string | undefined;
  /** Default `when-required`: no CRC32 aws-chunked bodies that many S3-compatible servers refuse. */
  readonly checksumMode: ChecksumMode;
  /** Time for one request attempt, ms. Default 30 000. */
  readonly requestTimeoutMs: number;
  /** Time to open a connection, ms. Default 5 000. */
  readonly connectTimeoutMs: number;
  /**
   * Attempts per request, including the first, on throttling (503 SlowDown, 429), 500/502/503/504
   * and network failures. Default 6: the MinIO client's 5 retries.
   */
  readonly maxAttempts: number;
  /** Backoff before the first retry, ms, doubling for each later one. Default 200. */
  readonly retryBaseDelayMs: number;
  /** Longest backoff between two attempts, ms. Default 5 000. */
  readonly retryMaxDelayMs: number;
  /**
   * Keep-alive sockets at most, shared by every request. Requests past it wait for a socket and
   * that wait counts against connectTimeoutMs, so it must cover all concurrency: see maxSocketsFor.
   */
  readonly maxSockets: number;
  /**
   * Where the ids of multipart uploads this process started are recorded until they complete or
   * abort, for `bucketfs cleanup`. Undefined: not recorded. Default (CLI) ~/.cache/bucketfs/uploads.
   */
  readonly uploadJournalDir?: string;
  /** Server capabilities set by the user (`--capability NAME=VALUE`) over detection. */
  readonly capabilities?: Partial<ServerCapabilities>;
  /** Encryption of every PutObject, CreateMultipartUpload and CopyObject (SSE-C: of reads too). Default none: the bucket's own default. */
  readonly encryption?: Encryption;
  /** x-amz-storage-class of every object written, copies included (any name the server takes). Default none: the server's default. */
  readonly storageClass?: string;
}

export interface CacheConfig {
  /**
   * Unit of the block caches (memory and disk) and of a random read's GET, bytes; sequential
   * reads fetch many blocks per GET. Default 256 KiB.
   */
  readonly blockSizeBytes: number;
  /** Block cache capacity, bytes. Default 256 MiB. */
  readonly cacheSizeBytes: number;
  /** How long a HEAD or listing result is trusted, ms. Default 5 000. */
  readonly statTtlMs: number;
  /** How long "no such file" is trusted, ms. Default 1 000. */
  readonly negativeTtlMs: number;
  /** Stat cache entries at most. Default 100 000. */
  readonly maxStatEntries: number;
  /**
   * Largest read-ahead window of one sequential reader, bytes (at most half the block cache is
   * used); it is fetched in GETs of a quarter of the window, at most 8 MiB each. Default 32 MiB.
   */
  readonly readAheadMaxBytes: number;
  /** Memory shared by read-ahead and upload buffers, bytes. Default 256 MiB. */
  readonly memoryBudgetBytes: number;
  /** Answer stat from listings alone, without a HEAD for s3fs metadata. Default false. */
  readonly statFromListing: boolean;
  /** HEADs sent at once to read listed entries' metadata ahead of `ls -l`. Default 32. */
  readonly metadataReadAhead: number;
  /**
   * Keep a file's pages in the kernel page cache across opens while its size and mtime are
   * unchanged (FUSE auto_cache); false drops them at every open. Default true.
   */
  readonly keepPageCache: boolean;
  /** Folder of the local disk cache of blocks (one subfolder per bucket and prefix); undefined: none. Default none. */
  readonly diskCacheDir: string | undefined;
  /** Bytes the disk cache keeps at most (least recently used blocks go first). Default 10 GiB. */
  readonly diskCacheSizeBytes: number;
}

export interface PosixConfig {
  readonly uid: number;
  readonly gid: number;
  /** Permission bits of files without x-amz-meta-mode. Default 0644. */
  readonly fileMode: number;
  /** Permission bits of directories without x-amz-meta-mode. Default 0755. */
  readonly dirMode: number;
  readonly readOnly: boolean;
  /** Store access times of reads (relatime: at most once a day per file, a header rewrite each). Default false: noatime. */
  readonly atime: boolean;
  /** Size statfs (df) reports, bytes: S3 has no capacity of its own. Default 1 PiB. */
  readonly capacityBytes: number;
}

export interface WriteConfig {
  /** First multipart part size, bytes; grows so a file can pass 10 000 parts. Default 8 MiB. */
  readonly partSizeBytes: number;
  /** Parts uploaded at once per file. Default 4. */
  readonly uploadConcurrency: number;
  /** Where written-but-not-uploaded bytes live. Default ~/.cache/bucketfs/spool. */
  readonly spoolDir: string;
  /** Spool capacity, bytes: a write past it fails with ENOSPC. Default 64 GiB. */
  readonly spoolSizeBytes: number;
  /** close()/fsync() return once the data is durable in the spool; uploads follow from a queue. Default off. */
  readonly writeBack: boolean;
  /** Files uploaded at once in the background (write-back queue, retries, recovery). Default 4. */
  readonly backgroundUploads: number;
}

export interface MountConfig {
  readonly mountpoint: string;
  /**
   * Mount every bucket the credentials can list, one folder each (`bucketfs mount MOUNTPOINT`);
   * `s3` then names no bucket (bucket and prefix are '') and each bucket gets a copy of it.
   */
  readonly allBuckets: boolean;
  readonly s3: S3Config;
  readonly cache: CacheConfig;
  readonly posix: PosixConfig;
  readonly write: WriteConfig;
  readonly foreground: boolean;
  /** logLevel is debug (kept for callers that only ask "debug or not"). */
  readonly debug: boolean;
  /** What the daemon logs at first (SIGUSR2 raises it one step). Default info. */
  readonly logLevel: LogLevel;
  /** `text` for people, `json` one object per line. Default text. */
  readonly logFormat: LogFormat;
  /** Where the Prometheus /metrics endpoint listens (and only there). Default none: no endpoint. */
  readonly metrics?: { readonly host: string; readonly port: number };
  readonly allowOther: boolean;
}

/** $XDG_CACHE_HOME, else ~/.cache: the one place bucketfs's local state lives under. */
export function cacheHome(): string {
  return process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
}

/** HEADs one directory listing sends at once (a stat per entry). */
const HEAD_FAN_OUT = 64;
/** Other requests that may run beside reads and uploads: lists, copies, deletes. */
const METADATA_REQUESTS = 64;

/**
 * Sockets that cover every request bucketfs can have in flight, so none waits for a socket long
 * enough to hit the connect timeout: the HEAD fan-out, metadata calls, and the data requests the
 * memory budget allows (each read-ahead block and each upload part holds budget while in flight).
 */
export function maxSocketsFor(cache: Pick<CacheConfig, 'memoryBudgetBytes' | 'blockSizeBytes'>, write: Pick<WriteConfig, 'partSizeBytes'>): number {
  const dataRequests = Math.ceil(cache.memoryBudgetBytes / Math.min(cache.blockSizeBytes, write.partSizeBytes));
  return HEAD_FAN_OUT + METADATA_REQUESTS + dataRequests;
}

const DEFAULT_CACHE = {
  blockSizeBytes: 256 * KiB,
  cacheSizeBytes: 256 * MiB,
  statTtlMs: 5_000,
  negativeTtlMs: 1_000,
  maxStatEntries: 100_000,
  readAheadMaxBytes: 32 * MiB,
  memoryBudgetBytes: 256 * MiB,
  statFromListing: false,
  metadataReadAhead: 32,
  keepPageCache: true,
  diskCacheSizeBytes: 10 * GiB,
} as const;

const DEFAULT_WRITE = {
  partSizeBytes: 8 * MiB,
  uploadConcurrency: 4,
  spoolDir: path.join(cacheHome(), 'bucketfs', 'spool'),
  spoolSizeBytes: 64 * GiB,
  writeBack: false,
  backgroundUploads: 4,
} as const;

export const DEFAULTS = {
  s3: {
    checksumMode: 'when-required' as ChecksumMode,
    requestTimeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    maxAttempts: 6,
    retryBaseDelayMs: 200,
    retryMaxDelayMs: 5_000,
    maxSockets: maxSocketsFor(DEFAULT_CACHE, DEFAULT_WRITE),
  },
  cache: DEFAULT_CACHE,
  posix: { fileMode: 0o644, dirMode: 0o755, capacityBytes: 1024 * 1024 * GiB },
  write: DEFAULT_WRITE,
  /** Not in `s3`: test stores built from DEFAULTS.s3 must not record uploads in the user's cache. */
  uploadJournalDir: path.join(cacheHome(), 'bucketfs', 'uploads'),
} as const;


/** Parses sizes such as `512`, `64K`, `256M`, `2G`, `1.5GiB` into bytes; undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const factor = { '': 1, k: KiB, m: MiB, g: GiB, t: 1024 * GiB, p: 1024 * 1024 * GiB }[(m[2] ?? '').toLowerCase()] ?? 1;
  const value = Math.round(Number(m[1]) * factor);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A size as the options take it: the largest unit that divides it (`256M`, `10G`, `512K`). */
export function formatSize(bytes: number): string {
  const units: [string, number][] = [['P', 1024 * 1024 * GiB], ['T', 1024 * GiB], ['G', GiB], ['M', MiB], ['K', KiB]];
  for (const [unit, factor] of units) if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  return String(bytes);
}

/** A mode as the options take it: four octal digits (`0644`). */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
