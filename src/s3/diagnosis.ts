// A structured diagnosis of a failed S3 request: what went wrong (a cause in words, without any
// command-line vocabulary) and a fix as data. The CLI layer phrases the fix with its own flag names
// (src/cli/advice.ts), so src/s3 never says "--region" and the CLI never reads an SDK error.

import type { S3Config } from '../config.js';
import { errorFacts } from './errors.js';
import type { StoreError, StoreErrorCode } from './store-error.js';

/** What the user can do about a failure. */
export type Fix =
  /** The address is wrong or the server is down. */
  | { readonly kind: 'check-endpoint' }
  | { readonly kind: 'check-network' }
  | { readonly kind: 'check-server-health' }
  | { readonly kind: 'check-access-key' }
  /** The secret, or a server that wants another signature version. */
  | { readonly kind: 'check-secret-key' }
  | { readonly kind: 'sync-clock' }
  | { readonly kind: 'provide-credentials' }
  | { readonly kind: 'refresh-credentials' }
  | { readonly kind: 'check-credentials' }
  | { readonly kind: 'check-bucket-name' }
  | { readonly kind: 'check-bucket-and-endpoint' }
  /** The keys lack a permission (or a bucket policy denies it). */
  | { readonly kind: 'grant-permission'; readonly permission: string; readonly prefix: string }
  | { readonly kind: 'set-region'; readonly region: string }
  | { readonly kind: 'use-path-style' }
  | { readonly kind: 'check-region-and-endpoint' }
  | { readonly kind: 'retry-later' }
  | { readonly kind: 'check-server-logs' }
  | { readonly kind: 'use-s3-server'; readonly call: string }
  /** The request checksums the SDK can add are not for this server. */
  | { readonly kind: 'use-required-checksums' }
  /** The server refused server-side encryption of this kind (over plain http, when `overHttp`). */
  | { readonly kind: 'encryption-refused'; readonly encryption: 's3' | 'kms' | 'c'; readonly overHttp: boolean }
  /** The server has no storage class of this name. */
  | { readonly kind: 'storage-class-refused'; readonly storageClass: string }
  /** Nothing to do: bucketfs works around it, as `how` says. */
  | { readonly kind: 'worked-around'; readonly how: string }
  | { readonly kind: 'none' };

export interface Diagnosis {
  readonly code: StoreErrorCode;
  /** What went wrong, in one clause (no trailing punctuation). */
  readonly cause: string;
  readonly fix: Fix;
  /** More words for a cause that needs them (the raw error of an unforeseen failure). */
  readonly detail?: string;
}

/** "SlowDown" or "HTTP 503": the most specific name of what the server said. */
function answerName(e: StoreError, s3Code: string | undefined): string {
  return s3Code ?? `HTTP ${e.httpStatus ?? '?'}`;
}

/** Diagnoses a failed request of `call` (ListObjectsV2 at mount time) against bucket `s3.bucket`. */
export function diagnose(e: StoreError, s3: Pick<S3Config, 'bucket' | 'prefix' | 'endpoint' | 'region' | 'pathStyle' | 'connectTimeoutMs' | 'requestTimeoutMs'>, call = 'ListObjectsV2'): Diagnosis {
  const facts = errorFacts(e);
  const where = s3.endpoint ?? `AWS S3${s3.region !== undefined ? ` (${s3.region})` : ''}`;
  const bucket = `'${s3.bucket}'`;
  const name = answerName(e, facts.s3Code);
  const ref = e.requestId !== undefined ? `, request id ${e.requestId}` : '';
  const code = e.code;
  switch (code) {
    case 'Unreachable':
      return { code, cause: `cannot reach ${where} (${facts.netReason ?? facts.netCode ?? 'no answer'})`, fix: { kind: 'check-endpoint' } };
    case 'Timeout':
      // The SDK's connect timeout says "did not establish a connection"; anything else timed out later.
      return /establish a connection/.test(facts.message ?? '')
        ? { code, cause: `cannot connect to ${where} within ${s3.connectTimeoutMs} ms`, fix: { kind: 'check-network' } }
        : { code, cause: `${where} did not answer within ${s3.requestTimeoutMs} ms`, fix: { kind: 'check-server-health' } };
    case 'InvalidCredentials':
      return credentials(e, facts.s3Code);
    case 'NoSuchBucket':
      return { code, cause: `bucket ${bucket} does not exist at ${where}`, fix: { kind: 'check-bucket-name' } };
    case 'NotFound':
      return { code, cause: `${where} answered 404 for bucket ${bucket}`, fix: { kind: 'check-bucket-and-endpoint' } };
    case 'AccessDenied':
      return { code, cause: `access denied to bucket ${bucket}`, fix: { kind: 'grant-permission', permission: permissionOf(call), prefix: s3.prefix } };
    case 'WrongRegionOrStyle':
      if (facts.region !== undefined && facts.region !== s3.region) {
        return { code, cause: 'the server redirected the request', fix: { kind: 'set-region', region: facts.region } };
      }
      return { code, cause: `the server redirected the request (${name})`, fix: { kind: s3.pathStyle ? 'check-region-and-endpoint' : 'use-path-style' } };
    case 'Throttled':
      return { code, cause: `${where} is throttling requests (${name}${ref})`, fix: { kind: 'retry-later' } };
    case 'ServerError':
      return { code, cause: `${where} failed with a server error (${name}${ref})`, fix: { kind: 'check-server-logs' } };
    case 'NotImplemented':
      return { code, cause: `${where} does not implement ${call} (${name})`, fix: { kind: 'use-s3-server', call } };
    default:
      return { code, cause: `cannot use bucket ${bucket} at ${where}`, fix: { kind: 'none' }, detail: `${e.message}${ref}` };
  }
}

function credentials(e: StoreError, s3Code: string | undefined): Diagnosis {
  const code = e.code;
  switch (s3Code) {
    case 'InvalidAccessKeyId':
      return { code, cause: 'the access key is not known to the server (InvalidAccessKeyId)', fix: { kind: 'check-access-key' } };
    case 'SignatureDoesNotMatch':
      return { code, cause: 'signature mismatch (SignatureDoesNotMatch)', fix: { kind: 'check-secret-key' } };
    case 'RequestTimeTooSkewed':
      return { code, cause: "the server refused the request because this machine's clock is wrong (RequestTimeTooSkewed)", fix: { kind: 'sync-clock' } };
    case 'CredentialsProviderError':
      return { code, cause: 'no credentials found', fix: { kind: 'provide-credentials' } };
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
      return { code, cause: `the session token has expired (${s3Code})`, fix: { kind: 'refresh-credentials' } };
    default:
      return { code, cause: `the server refused the credentials (${answerName(e, s3Code)})`, fix: { kind: 'check-credentials' } };
  }
}

/** The IAM permission an S3 call needs, for an AccessDenied diagnosis. */
function permissionOf(call: string): string {
  const permissions: Readonly<Record<string, string>> = {
    ListObjectsV2: 's3:ListBucket',
    ListMultipartUploads: 's3:ListBucketMultipartUploads',
    GetObject: 's3:GetObject',
    HeadObject: 's3:GetObject',
    PutObject: 's3:PutObject',
    CopyObject: 's3:GetObject and s3:PutObject',
    CreateMultipartUpload: 's3:PutObject',
    UploadPartCopy: 's3:GetObject and s3:PutObject',
    DeleteObject: 's3:DeleteObject',
    DeleteObjects: 's3:DeleteObject',
    AbortMultipartUpload: 's3:AbortMultipartUpload',
  };
  return permissions[call] ?? `the permission for ${call}`;
}
