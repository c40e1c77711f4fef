// Construction of the SDK clients a store uses, and the middlewares bucketfs adds to them: one
// keep-alive socket pool shared by both clients (sized to cover all concurrency, see maxSocketsFor),
// MinIO-style retries, checksums chosen per request from the live capabilities, Content-MD5 on
// DeleteObjects, and a look at every answer's headers to recognise the server.

import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';
import type { CapabilityTracker } from './capabilities.js';
import { addEncryption } from './encryption.js';
import { BackoffRetryStrategy } from './retry.js';

/** Slowest upload rate still treated as working when timing a request with a body. */
export const UPLOAD_FLOOR_BYTES_PER_SECOND = 256 * 1024;
/** What the kernel's send buffers may hold of a body once Node has handed it over. */
const SEND_BUFFER_ALLOWANCE_BYTES = 8 * 1024 * 1024;

export interface S3Clients {
  /** Every call but PutObject and UploadPart. */
  readonly main: S3Client;
  /** PutObject and UploadPart: a longer silence allowance while a body drains. */
  readonly upload: S3Client;
  /**
   * The same for streamed bodies, with one attempt per send: the SDK cannot rewind a stream, so
   * sendStreamed() retries with a fresh one.
   */
  readonly uploadOnce: S3Client;
  destroy(): void;
}

/** The SDK's own region chain (AWS_REGION, the profile's region), else us-east-1. */
async function regionFromChain(profile: string | undefined): Promise<string> {
  const probe = new S3Client(profile !== undefined ? { profile } : {});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}

/**
 * DeleteObjects is the one call S3 requires an integrity header on. With WHEN_REQUIRED the SDK
 * sends only x-amz-checksum-crc32, and servers that predate flexible checksums want Content-MD5.
 */
function addContentMd5(commandName: string, request: unknown): void {
  const { headers, body } = request as { headers?: Record<string, string>; body?: unknown };
  if (commandName !== 'DeleteObjectsCommand' || headers === undefined) return;
  const has = Object.keys(headers).some((h) => h.toLowerCase() === 'content-md5');
  if (!has && (typeof body === 'string' || body instanceof Uint8Array)) headers['content-md5'] = createHash('md5').update(body).digest('base64');
}

/** The lower-case headers of an SDK response (or of an error's $response). */
function headersOf(response: unknown): Record<string, string | undefined> {
  const headers = (response as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

/** Sets a header the SDK has no field for on a request being built. */
export function setHeader(request: unknown, name: string, value: string): void {
  const headers = (request as { headers?: Record<string, string> }).headers;
  if (headers !== undefined) headers[name] = value;
}

/** Every answer (success or error, each attempt) shows its headers to the capability tracker. */
function observeAnswers(client: S3Client, capabilities: CapabilityTracker): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        const out = await next(args);
        capabilities.observe(headersOf(out.response));
        return out;
      } catch (e) {
        capabilities.observe(headersOf((e as { $response?: unknown } | undefined)?.$response));
        throw e;
      }
    },
    { step: 'finalizeRequest', name: 'bucketfsObserveAnswers', priority: 'low' },
  );
}

const SILENT = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** The SDK clients of one store. Long on purpose: one S3ClientConfig, with each setting's reason beside it. */
export function createS3Clients(config: S3Config, capabilities: CapabilityTracker): S3Clients {
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const retryStrategy = new BackoffRetryStrategy(config);
  const singleAttempt = new BackoffRetryStrategy({ ...config, maxAttempts: 1 });
  // Asked on every request, so a checksum capability learned or overridden later takes effect.
  const checksums = async (): Promise<'WHEN_SUPPORTED' | 'WHEN_REQUIRED'> =>
    capabilities.current.flexibleChecksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED';
  // The SDK asks a region provider on every request.
  let chainRegion: Promise<string> | undefined;
  const make = (socketTimeoutMs: number, attempts: 'retry' | 'once' = 'retry'): S3Client => {
    const options: S3ClientConfig = {
      // A custom endpoint accepts any region name; AWS itself needs the bucket's real one.
      region: config.region ?? (config.endpoint !== undefined ? 'us-east-1' : () => (chainRegion ??= regionFromChain(config.profile))),
      ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
      ...(config.profile !== undefined ? { profile: config.profile } : {}),
      forcePathStyle: capabilities.current.pathStyle,
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
      maxAttempts: attempts === 'once' ? 1 : config.maxAttempts,
      retryStrategy: attempts === 'once' ? singleAttempt : retryStrategy,
      // Failures reach the caller as StoreErrors; the SDK's own console warnings would only add noise.
      logger: SILENT,
      requestHandler: {
        httpAgent,
        httpsAgent,
        connectionTimeout: config.connectTimeoutMs,
        // requestTimeout bounds an attempt up to the response headers (requests with a body get
        // more, see S3Context.timeoutFor); socketTimeout bounds silence on the socket, which also
        // covers a body that stops arriving half-way.
        requestTimeout: config.requestTimeoutMs,
        throwOnRequestTimeout: true,
        socketTimeout: socketTimeoutMs,
      },
    };
    const client = new S3Client(options);
    observeAnswers(client, capabilities);
    addEncryption(client, config);
    return client;
  };
  const main = make(config.requestTimeoutMs);
  main.middlewareStack.add(
    (next, context) => async (args) => {
      addContentMd5(context.commandName ?? '', args.request);
      return next(args);
    },
    { step: 'build', name: 'bucketfsDeleteObjectsContentMd5', priority: 'low' },
  );
  // A body handed to the kernel drains without Node seeing any activity: on a thin link the
  // socket looks silent for as long as its buffers take to empty, so uploads tolerate that.
  const uploadSocketTimeoutMs = config.requestTimeoutMs + Math.ceil((SEND_BUFFER_ALLOWANCE_BYTES / UPLOAD_FLOOR_BYTES_PER_SECOND) * 1000);
  const upload = make(uploadSocketTimeoutMs);
  const uploadOnce = make(uploadSocketTimeoutMs, 'once');
  return {
    main,
    upload,
    uploadOnce,
    destroy() {
      main.destroy();
      upload.destroy();
      uploadOnce.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
