// The single error → errno table. The fs core throws FsError for POSIX outcomes; the store throws
// StoreError; anything else is a bug and maps to EIO. Tables are typed Record<Code, number> so a new
// code fails the build until it is mapped here.

import { StoreError, type StoreErrorCode } from '../s3/store-error.js';

/** Linux errno values (positive); the FUSE binding negates them. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  EROFS: 30,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
  ESTALE: 116,
  EDQUOT: 122,
} as const;
export type ErrnoName = keyof typeof Errno;

/** An error the filesystem means to return, named by its errno. */
export class FsError extends Error {
  override readonly name = 'FsError';
  constructor(
    readonly code: ErrnoName,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? code, options);
  }
}

const storeErrno: Record<StoreErrorCode, ErrnoName> = {
  NotFound: 'ENOENT',
  NoSuchUpload: 'EIO',
  NoSuchBucket: 'EIO',
  PreconditionFailed: 'ESTALE',
  InvalidRange: 'EIO',
  AccessDenied: 'EACCES',
  InvalidCredentials: 'EACCES',
  WrongRegionOrStyle: 'EIO',
  Unreachable: 'EIO',
  Timeout: 'ETIMEDOUT',
  Throttled: 'EIO',
  ServerError: 'EIO',
  NotImplemented: 'EOPNOTSUPP',
  EntityTooLarge: 'EFBIG',
  InvalidArgument: 'EINVAL',
  BucketNotEmpty: 'ENOTEMPTY',
  BucketExists: 'EEXIST',
  TooManyBuckets: 'EDQUOT',
  Unknown: 'EIO',
};

/** Store outcomes that answer a caller's request as POSIX would: no log line. */
const EXPECTED_STORE_ERRORS: ReadonlySet<StoreErrorCode> = new Set(['NotFound', 'PreconditionFailed', 'AccessDenied', 'BucketNotEmpty', 'BucketExists']);

export interface ErrnoResult {
  readonly errno: number;
  readonly name: ErrnoName;
  /** True for outcomes worth a log line (server trouble, bugs), false for ENOENT and friends. */
  readonly unexpected: boolean;
}

export function toErrno(error: unknown): ErrnoResult {
  if (error instanceof FsError) return { errno: Errno[error.code], name: error.code, unexpected: false };
  if (error instanceof StoreError) {
    const name = storeErrno[error.code];
    const expected = EXPECTED_STORE_ERRORS.has(error.code);
    return { errno: Errno[name], name, unexpected: !expected };
  }
  return { errno: Errno.EIO, name: 'EIO', unexpected: true };
}
