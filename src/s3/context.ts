// What every S3 call of one store shares: the clients, the bucket and prefix (the only place that
// joins the prefix to keys and strips it from what S3 returns), the live capabilities, and #request,
// the single path of every SDK call: error conversion, the debug log line, the diagnostics event.

import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { S3Config } from '../config.js';
import { CapabilityTracker, type ServerCapabilities } from './capabilities.js';
import { createS3Clients, type S3Clients } from './client.js';
import { toStoreError } from './errors.js';
import type { RetryPolicy } from './retry.js';
import { StoreError } from './store-error.js';

/** One finished S3 request, published on S3_REQUEST_CHANNEL for counters and tracing. */
export interface S3RequestEvent {
  readonly op: string;
  readonly key: string | undefined;
  readonly durationMs: number;
  /** HTTP status, when a server answered. */
  readonly status: number | undefined;
  /** The StoreError code when the request failed. */
  readonly errorCode: string | undefined;
  readonly requestId: string | undefined;
  /** Body bytes sent (PutObject, UploadPart); undefined for requests without a body. */
  readonly bytesSent: number | undefined;
}

/** Receives one line per request, and the same facts as fields for structured (JSON) logs. */
export type RequestLogger = (line: string, fields: Readonly<Record<string, string | number | undefined>>) => void;

/** diagnostics_channel name of S3RequestEvent. */
export const S3_REQUEST_CHANNEL = 'bucketfs:s3:request';
const requestChannel = diagnosticsChannel.channel(S3_REQUEST_CHANNEL);

/** What a call learned about its answer, for the log line and the event. */
export interface RequestTrace {
  status?: number;
  requestId?: string;
  /** The request's body size, for the event (uploaded bytes). */
  bytesSent?: number;
}

function metadataOf(out: unknown): { httpStatusCode?: number; requestId?: string } | undefined {
  return typeof out === 'object' && out !== null ? (out as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata : undefined;
}

export class S3Context {
  readonly bucket: string;
  readonly prefix: string;
  readonly clients: S3Clients;
  readonly capabilities: CapabilityTracker;
  /** Attempts and backoff, for requests the SDK cannot retry itself (streamed bodies). */
  readonly retry: RetryPolicy;
  readonly #requestTimeoutMs: number;
  readonly #logger: RequestLogger | undefined;

  constructor(options: {
    bucket: string;
    prefix: string;
    clients: S3Clients;
    capabilities: CapabilityTracker;
    retry: RetryPolicy;
    requestTimeoutMs: number;
    logger: RequestLogger | undefined;
  }) {
    this.retry = options.retry;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.clients = options.clients;
    this.capabilities = options.capabilities;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#logger = options.logger;
  }

  /** A context with clients of its own for `config`; close it with `clients.destroy()`. */
  static create(
    config: S3Config,
    options: { capabilities?: Partial<ServerCapabilities>; logger?: RequestLogger; notice?: (line: string) => void } = {},
  ): S3Context {
    const capabilities = new CapabilityTracker(config, options.capabilities, options.notice);
    return new S3Context({
      bucket: config.bucket,
      prefix: config.prefix,
      clients: createS3Clients(config, capabilities),
      capabilities,
      retry: { maxAttempts: config.maxAttempts, retryBaseDelayMs: config.retryBaseDelayMs, retryMaxDelayMs: config.retryMaxDelayMs },
      requestTimeoutMs: config.requestTimeoutMs,
      logger: options.logger,
    });
  }

  full(key: string): string {
    return this.prefix + key;
  }

  relative(fullKey: string): string {
    if (!fullKey.startsWith(this.prefix)) {
      throw new StoreError('ServerError', `LIST s3://${this.bucket}/${this.prefix}: the server returned '${fullKey}', outside the prefix`);
    }
    return fullKey.slice(this.prefix.length);
  }

  where(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  /**
   * The time one attempt may take up to the response headers: the configured timeout, plus what a
   * body (or a server-side copy) of this size needs at a slow but working rate. A stalled transfer
   * is still caught sooner by the socket's silence timeout.
   */
  timeoutFor(bytes: number, floorBytesPerSecond: number): { requestTimeout: number } {
    return { requestTimeout: this.#requestTimeoutMs + Math.ceil((bytes / floorBytesPerSecond) * 1000) };
  }

  async request<T>(op: string, key: string, call: (trace: RequestTrace) => Promise<T>): Promise<T> {
    const started = performance.now();
    const trace: RequestTrace = {};
    let errorCode: string | undefined;
    try {
      const out = await call(trace);
      trace.status ??= metadataOf(out)?.httpStatusCode;
      trace.requestId ??= metadataOf(out)?.requestId;
      return out;
    } catch (e) {
      const err = toStoreError(e, `${op} ${this.where(key)}`);
      trace.status = err.httpStatus ?? trace.status;
      trace.requestId = err.requestId ?? trace.requestId;
      errorCode = err.code;
      throw err;
    } finally {
      const durationMs = Math.round(performance.now() - started);
      this.#logger?.(
        `s3 ${op} ${JSON.stringify(this.prefix + key)} ${trace.status ?? '-'} ${durationMs}ms` +
          (errorCode !== undefined ? ` ${errorCode}` : '') +
          (trace.requestId !== undefined && errorCode !== undefined ? ` request-id=${trace.requestId}` : ''),
        { op, bucket: this.bucket, key: this.prefix + key, status: trace.status, durationMs, errorCode, requestId: trace.requestId },
      );
      if (requestChannel.hasSubscribers) {
        const event: S3RequestEvent = { op, key, durationMs, status: trace.status, errorCode, requestId: trace.requestId, bytesSent: trace.bytesSent };
        requestChannel.publish(event);
      }
    }
  }
}
