// StoreError: the one error type that crosses the ObjectStore seam. Its `code` is stable and
// closed (a union), so the errno table in src/fs/errno.ts must name every code or fail the build.
// Kept free of SDK imports so the fs layer and the in-memory store can use it.

export type StoreErrorCode =
  | 'NotFound' // the key does not exist
  | 'NoSuchUpload' // the multipart upload is gone: aborted by another client, a lifecycle rule, or completed
  | 'NoSuchBucket'
  | 'PreconditionFailed' // If-Match failed: the object changed since it was opened
  | 'InvalidRange'
  | 'AccessDenied'
  | 'InvalidCredentials' // InvalidAccessKeyId, SignatureDoesNotMatch, expired token
  | 'WrongRegionOrStyle' // 301/307 redirects, AuthorizationHeaderMalformed with a region
  | 'Unreachable' // DNS, connection refused, TLS: nothing answered
  | 'Timeout' // the request took longer than the configured timeout
  | 'Throttled' // 503 SlowDown and friends, after retries
  | 'ServerError' // 5xx after retries
  | 'NotImplemented' // the server does not support this call
  | 'EntityTooLarge'
  | 'InvalidArgument' // the server refused the request as malformed (e.g. a key it cannot store)
  | 'BucketNotEmpty' // DeleteBucket of a bucket that holds objects (or old versions)
  | 'BucketExists' // CreateBucket of a name taken, by these credentials or another account
  | 'TooManyBuckets' // CreateBucket past the account's bucket quota
  | 'Unknown';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  /** HTTP status, when a server answered. */
  readonly httpStatus: number | undefined;
  /** The server's request id, for support tickets and logs. */
  readonly requestId: string | undefined;

  constructor(
    code: StoreErrorCode,
    message: string,
    options: { cause?: unknown; httpStatus?: number; requestId?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.httpStatus = options.httpStatus;
    this.requestId = options.requestId;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
