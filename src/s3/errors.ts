// The only place that reads AWS SDK error shapes ($metadata, name/Code, $response, Node network
// codes): everything else sees a StoreError with a stable code. describeMountError turns the
// StoreError of a failed mount-time check into one sentence that names the cause and the fix.

import type { S3Config } from '../config.js';
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

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload', 'NoSuchVersion']);
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
  EPROTO: 'TLS protocol error (is it an http:// endpoint?)',
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

/**
 * One sentence for a failed mount-time check (checkAccess): what went wrong and which flag or
 * variable fixes it. Never more than one line, so it can be the whole output of a failed mount.
 */
export function describeMountError(e: StoreError, s3: S3Config): string {
  const cause = shapeOf(e.cause);
  const where = s3.endpoint ?? `AWS S3${s3.region !== undefined ? ` (${s3.region})` : ''}`;
  const bucket = `'${s3.bucket}'`;
  const name = s3CodeOf(cause);
  const ref = e.requestId !== undefined ? `, request id ${e.requestId}` : '';
  let sentence: string;
  switch (e.code) {
    case 'Unreachable': {
      const net = netCodeOf(cause);
      const reason = (net !== undefined ? UNREACHABLE_CODES[net] : undefined) ?? net ?? 'no answer';
      sentence = `cannot reach ${where} (${reason}): check --endpoint and that the server is running`;
      break;
    }
    case 'Timeout':
      // The SDK's connect timeout says "did not establish a connection"; anything else timed out later.
      sentence = /establish a connection/.test(str(cause.message) ?? '')
        ? `cannot connect to ${where} within ${s3.connectTimeoutMs} ms: check --endpoint and the network`
        : `${where} did not answer within ${s3.requestTimeoutMs} ms: check --endpoint and that the server is healthy`;
      break;
    case 'InvalidCredentials':
      if (name === 'InvalidAccessKeyId') {
        sentence = `the access key is not known to the server (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID / --profile`;
      } else if (name === 'SignatureDoesNotMatch') {
        sentence = `signature mismatch (SignatureDoesNotMatch): check AWS_SECRET_ACCESS_KEY`;
      } else if (name === 'RequestTimeTooSkewed') {
        sentence = `the server refused the request because this machine's clock is wrong (RequestTimeTooSkewed): synchronise the clock`;
      } else if (name === 'CredentialsProviderError') {
        sentence = `no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile`;
      } else if (name === 'ExpiredToken' || name === 'TokenRefreshRequired') {
        sentence = `the session token has expired (${name}): refresh the credentials (AWS_SESSION_TOKEN / --profile)`;
      } else {
        sentence = `the server refused the credentials (${name ?? `HTTP ${e.httpStatus ?? '?'}`}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and --profile`;
      }
      break;
    case 'NoSuchBucket':
      sentence = `bucket ${bucket} does not exist at ${where}: check the bucket name (and --endpoint)`;
      break;
    case 'NotFound':
      sentence = `${where} answered 404 for bucket ${bucket}: check the bucket name and that --endpoint is an S3 server`;
      break;
    case 'AccessDenied':
      sentence = `access denied to bucket ${bucket}: the credentials lack s3:ListBucket${s3.prefix !== '' ? ` on prefix '${s3.prefix}'` : ''}`;
      break;
    case 'WrongRegionOrStyle': {
      const region = redirectRegion(cause);
      if (region !== undefined && region !== s3.region) {
        sentence = `the server redirected the request: the bucket lives in region ${region} — pass --region ${region}`;
      } else if (!s3.pathStyle) {
        sentence = `the server redirected the request (${name ?? `HTTP ${e.httpStatus ?? '?'}`}): try --path-style`;
      } else {
        sentence = `the server redirected the request (${name ?? `HTTP ${e.httpStatus ?? '?'}`}): check --region and --endpoint`;
      }
      break;
    }
    case 'Throttled':
      sentence = `${where} is throttling requests (${name ?? `HTTP ${e.httpStatus ?? '?'}`}${ref}): try again later`;
      break;
    case 'ServerError':
      sentence = `${where} failed with a server error (${name ?? `HTTP ${e.httpStatus ?? '?'}`}${ref}): try again later or check the server's logs`;
      break;
    case 'NotImplemented':
      sentence = `${where} does not implement ListObjectsV2 (${name ?? `HTTP ${e.httpStatus ?? '?'}`}): bucketfs needs an S3-compatible server`;
      break;
    default:
      sentence = `cannot use bucket ${bucket} at ${where}: ${e.message}${ref}`;
  }
  return sentence.replace(/\s*\n\s*/g, ' ');
}
