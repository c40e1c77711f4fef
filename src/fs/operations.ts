// The operation surface the FUSE binding drives: one async method per FUSE operation, plain data in
// and out, errors as FsError/StoreError (errno.ts maps them). S3Filesystem (one bucket) and
// AllBuckets (every bucket, each delegated to an S3Filesystem) implement it, so the binding knows
// neither. FilesystemLifecycle is what run.ts needs besides: unmount, `bucketfs sync`/`status`, SIGHUP.

import type { S3Filesystem, StatFs } from './filesystem.js';
import type { OpenFilesActivity } from './open-files.js';

/** The FUSE operations, as S3Filesystem takes them (the caller last, optional, where it matters). */
type OperationName =
  | 'getattr' | 'fgetattr' | 'readdir' | 'access'
  | 'open' | 'create' | 'read' | 'write' | 'flush' | 'fsync' | 'release' | 'truncate' | 'ftruncate' | 'readlink'
  | 'unlink' | 'mkdir' | 'rmdir' | 'symlink' | 'mknod' | 'link' | 'rename'
  | 'chmod' | 'chown' | 'utimens' | 'getxattr' | 'listxattr' | 'setxattr' | 'removexattr';

export type FilesystemOperations = Pick<S3Filesystem, OperationName> & {
  /** The path says which filesystem answers when several share a mount (every bucket). */
  statfs(path: string): Promise<StatFs>;
  fsyncdir(path: string): Promise<void>;
};

/** Uploads that failed (unmount, `bucketfs sync`), each with its path in the mount and why. */
export type SyncFailures = { path: string; error: string }[];

export interface FilesystemLifecycle {
  /** Uploads everything still dirty; returns what failed and why. */
  syncAll(): Promise<SyncFailures>;
  /** Stops background work (retry timers) before the process exits. */
  stop(): void;
  /** SIGHUP: forget cached metadata. */
  dropMetadataCaches(): void;
  /** Open files and uploads, for `bucketfs status`. */
  activity(): OpenFilesActivity;
}

/** A filesystem a mount serves: its operations and its lifecycle. */
export type MountedFilesystem = FilesystemOperations & FilesystemLifecycle;
