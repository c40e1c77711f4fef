// MountConfig: everything a mount is configured with, grouped by the layer that reads it, with every
// default in one place (DEFAULTS). The CLI builds it; nothing below src/run.ts parses flags.

import os from 'node:os';
import path from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** How the SDK computes request checksums: `when-required` is what S3-compatible servers accept. */
export type ChecksumMode = 'when-required' | 'when-supported';

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
  /** Attempts per request, including the first (retries with backoff). Default 4. */
  readonly maxAttempts: number;
  /** Keep-alive sockets at most. Default 64. */
  readonly maxSockets: number;
}

export interface CacheConfig {
  /** Unit of ranged GETs and of the block cache, bytes. Default 1 MiB. */
  readonly blockSizeBytes: number;
  /** Block cache capacity, bytes. Default 256 MiB. */
  readonly cacheSizeBytes: number;
  /** How long a HEAD or listing result is trusted, ms. Default 5 000. */
  readonly statTtlMs: number;
  /** How long "no such file" is trusted, ms. Default 1 000. */
  readonly negativeTtlMs: number;
  /** Stat cache entries at most. Default 100 000. */
  readonly maxStatEntries: number;
  /** Largest read-ahead window of one sequential reader, bytes. Default 16 MiB. */
  readonly readAheadMaxBytes: number;
  /** Memory shared by read-ahead and upload buffers, bytes. Default 256 MiB. */
  readonly memoryBudgetBytes: number;
  /** Answer stat from listings alone, without a HEAD for s3fs metadata. Default false. */
  readonly statFromListing: boolean;
  /** HEADs sent at once to read listed entries' metadata ahead of `ls -l`. Default 32. */
  readonly metadataReadAhead: number;
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
}

export interface MountConfig {
  readonly mountpoint: string;
  readonly s3: S3Config;
  readonly cache: CacheConfig;
  readonly posix: PosixConfig;
  readonly write: WriteConfig;
  readonly foreground: boolean;
  readonly debug: boolean;
  readonly allowOther: boolean;
}

export const DEFAULTS = {
  s3: {
    checksumMode: 'when-required' as ChecksumMode,
    requestTimeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    maxAttempts: 4,
    maxSockets: 64,
  },
  cache: {
    blockSizeBytes: 1 * MiB,
    cacheSizeBytes: 256 * MiB,
    statTtlMs: 5_000,
    negativeTtlMs: 1_000,
    maxStatEntries: 100_000,
    readAheadMaxBytes: 16 * MiB,
    memoryBudgetBytes: 256 * MiB,
    statFromListing: false,
    metadataReadAhead: 32,
  },
  posix: { fileMode: 0o644, dirMode: 0o755, capacityBytes: 1024 * 1024 * GiB },
  write: {
    partSizeBytes: 8 * MiB,
    uploadConcurrency: 4,
    spoolDir: path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'bucketfs', 'spool'),
    spoolSizeBytes: 64 * GiB,
  },
} as const;


/** Parses sizes such as `512`, `64K`, `256M`, `2G`, `1.5GiB` into bytes; undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const factor = { '': 1, k: KiB, m: MiB, g: GiB, t: 1024 * GiB, p: 1024 * 1024 * GiB }[(m[2] ?? '').toLowerCase()] ?? 1;
  const value = Math.round(Number(m[1]) * factor);
  return Number.isSafeInteger(value) ? value : undefined;
}
