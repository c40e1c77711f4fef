// The operation surface the FUSE binding drives: one async method per FUSE operation, plain data in
// and out, errors as FsError/StoreError (errno.ts maps them). S3Filesystem (one bucket) and
// AllBuckets (every bucket, each delegated to an S3Filesystem) implement it, so the binding knows
// neither. FilesystemLifecycle is what run.ts needs besides: unmount, `bucketfs sync`/`status`, SIGHUP.

import type { Directory, StatFs } from './filesystem.js';
import type { OpenFilesActivity } from './open-files.js';
import type { Stat } from './stat.js';

export interface FilesystemOperations {
  getattr(path: string): Promise<Stat>;
  fgetattr(fh: number): Promise<Stat>;
  readdir(path: string): Promise<Directory>;
  access(path: string, mode: number): Promise<void>;
  statfs(path: string): Promise<StatFs>;

  open(path: string, flags: number): Promise<number>;
  create(path: string, mode: number): Promise<number>;
  read(fh: number, offset: number, length: number): Promise<Buffer>;
  write(fh: number, offset: number, data: Buffer): Promise<number>;
  flush(fh: number): Promise<void>;
  fsync(fh: number): Promise<void>;
  release(fh: number): Promise<void>;
  truncate(path: string, sizeBytes: number): Promise<void>;
  ftruncate(fh: number, sizeBytes: number): Promise<void>;
  readlink(path: string): Promise<string>;

  unlink(path: string): Promise<void>;
  fsyncdir(path: string): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  link(from: string, to: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;

  chmod(path: string, mode: number): Promise<void>;
  /** `uid`/`gid` undefined: left as they are. */
  chown(path: string, uid: number | undefined, gid: number | undefined): Promise<void>;
  /** `mtimeMs` undefined: UTIME_OMIT. */
  utimens(path: string, mtimeMs: number | undefined): Promise<void>;
  getxattr(path: string, name: string): Promise<Buffer>;
  listxattr(path: string): Promise<string[]>;
  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void>;
  removexattr(path: string, name: string): Promise<void>;
}

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
