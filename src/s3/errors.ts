// The only place that reads AWS SDK error shapes ($metadata, name/Code, $response, Node network
// codes): everything else sees a StoreError with a stable code, and errorFacts() for the details a
// diagnosis needs (diagnosis.ts).

import { StoreError, type StoreErrorCode } from './store-error.js';

export { StoreError, isStoreError, type StoreErrorCode } from './store-error.js';

/** What an SDK error (or a Node network error wrapped by the SDK) may carry. */
interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  Region?: unknown;
  RequestId?: unknown;
  errors?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown; attempts?: unknown };
  $response?: { statusCode?: unknown; headers?: Record<string, unknown> };
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion']);
const BAD_CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
  'RequestTimeTooSkewed',
  'CredentialsProviderError',
]);
const ACCESS_DENIED = new Set(['AccessDenied', 'AllAccessDisabled', 'AccountProblem']);
const REDIRECTS = new Set([
  'PermanentRedirect',
  'TemporaryRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
  'MovedPermanently',
]);
const THROTTLED = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
]);
const NOT_IMPLEMENTED = new Set(['NotImplemented', 'MethodNotAllowed']);
/** Requests the server refused as malformed: retrying cannot help, the caller sent something bad. */
const INVALID_ARGUMENT = new Set([
  'InvalidArgument',
  'KeyTooLong',
  'InvalidObjectName',
  'EntityTooSmall',
  'InvalidPart',
  'InvalidPartOrder',
  'InvalidRequest',
  'MalformedXML',
  'InvalidDigest',
  'BadDigest',
  'InvalidBucketName',
  'MissingContentLength',
  'XAmzContentSHA256Mismatch',
  'InvalidURI',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
/** Node and TLS error codes that mean no S3 server answered at all. */
const UNREACHABLE_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  EPROTO: 'TLS protocol error (does the server speak plain http? then give http://HOST:PORT or --no-secure)',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate in chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
};

function shapeOf(e: unknown): SdkErrorShape {
  return typeof e === 'object' && e !== null ? (e as SdkErrorShape) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function headerOf(e: SdkErrorShape, name: string): string | undefined {
  const headers = e.$response?.headers;
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return str(v);
  return undefined;
}

/** The S3 error code (the XML <Code>), or the SDK's name for body-less answers such as HEAD. */
function s3CodeOf(e: SdkErrorShape): string | undefined {
  return str(e.Code) ?? str(e.name);
}

/** The Node network code, also when wrapped (AggregateError of happy eyeballs, `cause`). */
function netCodeOf(e: SdkErrorShape, depth = 0): string | undefined {
  const own = str(e.code);
  if (own !== undefined) return own;
  if (depth > 3) return undefined;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = netCodeOf(shapeOf(inner), depth + 1);
      if (c !== undefined) return c;
    }
  }
  return e.cause !== undefined ? netCodeOf(shapeOf(e.cause), depth + 1) : undefined;
}

function statusOf(e: SdkErrorShape): number | undefined {
  return num(e.$metadata?.httpStatusCode) ?? num(e.$response?.statusCode);
}

function classify(e: SdkErrorShape, status: number | undefined): StoreErrorCode {
  const name = s3CodeOf(e);
  const net = netCodeOf(e);
  // The network code is the better witness: the SDK names a reset during connect a TimeoutError.
  if (status === undefined && net !== undefined && net in UNREACHABLE_CODES) return 'Unreachable';
  if ((name !== undefined && TIMEOUT_NAMES.has(name)) || net === 'ETIMEDOUT') return 'Timeout';
  if (name !== undefined) {
    if (name === 'NoSuchBucket') return 'NoSuchBucket';
    if (name === 'NoSuchUpload') return 'NoSuchUpload';
    if (NOT_FOUND.has(name)) return 'NotFound';
    if (name === 'PreconditionFailed') return 'PreconditionFailed';
    if (name === 'InvalidRange') return 'InvalidRange';
    if (BAD_CREDENTIALS.has(name)) return 'InvalidCredentials';
    if (ACCESS_DENIED.has(name)) return 'AccessDenied';
    if (REDIRECTS.has(name)) return 'WrongRegionOrStyle';
    if (THROTTLED.has(name)) return 'Throttled';
    if (NOT_IMPLEMENTED.has(name)) return 'NotImplemented';
    if (name === 'EntityTooLarge') return 'EntityTooLarge';
    if (INVALID_ARGUMENT.has(name)) return 'InvalidArgument';
    if (name === 'BucketNotEmpty') return 'BucketNotEmpty';
    if (name === 'BucketAlreadyExists' || name === 'BucketAlreadyOwnedByYou') return 'BucketExists';
    if (name === 'TooManyBuckets') return 'TooManyBuckets';
  }
  if (status === undefined) return 'Unknown';
  // Body-less answers (HEAD) only have a status, and the SDK names them 'NotFound' or 'Unknown'.
  if (status === 404) return 'NotFound';
  if (status === 412) return 'PreconditionFailed';
  if (status === 416) return 'InvalidRange';
  if (status === 401) return 'InvalidCredentials';
  if (status === 403) return 'AccessDenied';
  if (status === 301 || status === 302 || status === 307) return 'WrongRegionOrStyle';
  // AWS answers a HEAD signed for the wrong region with a bare 400 naming the bucket's region.
  if (status === 400 && headerOf(e, 'x-amz-bucket-region') !== undefined) return 'WrongRegionOrStyle';
  if (status === 429) return 'Throttled';
  if (status === 405 || status === 501) return 'NotImplemented';
  if (status === 413) return 'EntityTooLarge';
  if (status >= 500) return 'ServerError';
  return 'Unknown';
}

/** Converts anything thrown by the SDK (or the network below it) into a StoreError. */
export function toStoreError(e: unknown, context: string): StoreError {
  if (e instanceof StoreError) return e;
  const shape = shapeOf(e);
  const status = statusOf(shape);
  const code = classify(shape, status);
  const requestId =
    str(shape.$metadata?.requestId) ?? str(shape.RequestId) ?? headerOf(shape, 'x-amz-request-id');
  const name = s3CodeOf(shape);
  const net = netCodeOf(shape);
  // Ceph RGW sends no <Message>, and the SDK then says 'UnknownError': show the S3 code instead.
  const rawMessage = str(shape.message) ?? (typeof e === 'string' ? e : undefined);
  const message = rawMessage === 'UnknownError' ? undefined : rawMessage;
  const parts: string[] = [];
  if (name !== undefined && name !== 'Error' && name !== 'Unknown') parts.push(name);
  if (status !== undefined) parts.push(`HTTP ${status}`);
  if (net !== undefined && !parts.includes(net)) parts.push(net);
  if (message !== undefined && message !== name) parts.push(message);
  const detail = parts.length > 0 ? parts.join(', ') : String(e);
  // After retries, say so: "failed" then means the server kept failing, not one bad moment.
  const attempts = num(shape.$metadata?.attempts);
  const tries = attempts !== undefined && attempts > 1 ? `, after ${attempts} attempts` : '';
  return new StoreError(code, `${context}: ${code} (${detail})${tries}`, { cause: e, httpStatus: status, requestId });
}

/** The region a redirect or a region error names, from x-amz-bucket-region or the error body. */
function redirectRegion(e: SdkErrorShape): string | undefined {
  const fromHeader = headerOf(e, 'x-amz-bucket-region');
  if (fromHeader !== undefined) return fromHeader;
  const fromBody = str(e.Region);
  if (fromBody !== undefined) return fromBody;
  const m = /expecting '([a-z0-9-]+)'/.exec(str(e.message) ?? '');
  return m?.[1];
}

/** What a StoreError's SDK cause tells beyond its code, for a diagnosis (see diagnosis.ts). */
export interface ErrorFacts {
  /** The S3 error code (InvalidAccessKeyId, PermanentRedirect...) or the SDK's error name. */
  readonly s3Code: string | undefined;
  /** The Node network code (ECONNREFUSED...), also when wrapped. */
  readonly netCode: string | undefined;
  /** That network code in words ("connection refused"). */
  readonly netReason: string | undefined;
  /** The region a redirect or a region error names. */
  readonly region: string | undefined;
  /** The SDK's own message (e.g. which timeout fired). */
  readonly message: string | undefined;
}

export function errorFacts(e: StoreError): ErrorFacts {
  const cause = shapeOf(e.cause);
  const netCode = netCodeOf(cause);
  return {
    s3Code: s3CodeOf(cause),
    netCode,
    netReason: netCode !== undefined ? UNREACHABLE_CODES[netCode] : undefined,
    region: redirectRegion(cause),
    message: str(cause.message),
  };
}
