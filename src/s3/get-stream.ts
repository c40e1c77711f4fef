// A ranged GET whose body is handed on chunk by chunk as the socket delivers it, so a reader waiting
// for the first megabyte of a 16 MiB range does not wait for the rest. The answer must come from the
// pinned version: If-Match is sent, and the answer's ETag is checked too (some servers ignore
// If-Match). A body that breaks off part-way is resumed from where it stopped, pinned the same way,
// a bounded number of times; what the caller receives is exactly the range's bytes or an error.

import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { toStoreError } from './errors.js';
import type { ByteRange } from './object-store.js';
import type { RequestTrace } from './context.js';
import { StoreError } from './store-error.js';
import { parseContentRange, sameEtag } from './wire.js';

export interface GetStreamContext {
  readonly client: S3Client;
  readonly bucket: string;
  /** The key with the mount's prefix. */
  readonly fullKey: string;
  /** `s3://bucket/key`, for messages. */
  readonly where: string;
  /** Runs one request through the store's error conversion and request log (up to the response headers). */
  readonly request: <T>(call: (trace: RequestTrace) => Promise<T>) => Promise<T>;
}

/** Times a body that broke off is resumed before the failure reaches the caller. */
const MAX_RESUMES = 2;

interface OpenedBody {
  readonly body: Readable;
  /** Bytes of the body to drop first: a server that ignores Range sends the object from byte 0. */
  readonly skipBytes: number;
  /** Where the answer ends: the range's end, or the object's end if that comes first. */
  readonly endByteExclusive: number;
}

/** The bytes of `range`, chunk by chunk; see the file header. */
export async function* streamRange(ctx: GetStreamContext, range: ByteRange, ifMatch?: string): AsyncGenerator<Uint8Array, void, undefined> {
  const { startByte, endByteExclusive } = range;
  if (!Number.isSafeInteger(startByte) || !Number.isSafeInteger(endByteExclusive) || startByte < 0 || endByteExclusive < startByte) {
    throw new StoreError('InvalidArgument', `GET ${ctx.where}: bad range ${startByte}-${endByteExclusive}`);
  }
  // HTTP cannot express an empty range.
  if (endByteExclusive === startByte) return;
  let position = startByte;
  let end = endByteExclusive;
  for (let resumes = 0; ; resumes++) {
    const opened = await open(ctx, position, end, ifMatch);
    end = opened.endByteExclusive;
    let skip = opened.skipBytes;
    let failure: unknown;
    try {
      for await (const raw of opened.body) {
        let chunk = raw as Buffer;
        if (skip > 0) {
          const dropped = Math.min(skip, chunk.byteLength);
          skip -= dropped;
          chunk = chunk.subarray(dropped);
        }
        if (chunk.byteLength > end - position) chunk = chunk.subarray(0, end - position);
        if (chunk.byteLength === 0) continue;
        position += chunk.byteLength;
        yield chunk;
      }
      if (position < end) failure = new Error(`the body ended after ${position - startByte} of ${end - startByte} bytes`);
    } catch (error) {
      failure = error;
    } finally {
      // A body read to its end leaves the socket to the keep-alive pool; one the caller stopped
      // reading (or that failed) must not be left half-read on it.
      if (!opened.body.readableEnded) opened.body.destroy();
    }
    if (failure === undefined) return;
    if (resumes >= MAX_RESUMES) {
      const converted = toStoreError(failure, `GET ${ctx.where}`);
      // A short body is the server's fault, not an unknown one.
      throw converted.code === 'Unknown' ? new StoreError('ServerError', converted.message, { cause: failure }) : converted;
    }
  }
}

/** Sends the GET of [startByte, endByteExclusive) and checks its headers before any byte is used. */
function open(ctx: GetStreamContext, startByte: number, endByteExclusive: number, ifMatch: string | undefined): Promise<OpenedBody> {
  return ctx.request(async (trace) => {
    const out = await ctx.client.send(
      new GetObjectCommand({ Bucket: ctx.bucket, Key: ctx.fullKey, Range: `bytes=${startByte}-${endByteExclusive - 1}`, IfMatch: ifMatch }),
    );
    trace.status = out.$metadata.httpStatusCode;
    trace.requestId = out.$metadata.requestId;
    const body = out.Body as Readable | undefined;
    const fail = (code: 'PreconditionFailed' | 'ServerError', message: string): never => {
      body?.destroy();
      throw new StoreError(code, `GET ${ctx.where}: ${message}`, { httpStatus: trace.status, requestId: trace.requestId });
    };
    if (ifMatch !== undefined && out.ETag !== undefined && out.ETag !== '' && !sameEtag(out.ETag, ifMatch)) {
      fail('PreconditionFailed', `the object changed (ETag ${out.ETag}, expected ${ifMatch}); the server did not honour If-Match`);
    }
    if (body === undefined) return fail('ServerError', 'the answer has no body');
    const contentRange = parseContentRange(out.ContentRange);
    if (contentRange !== undefined) {
      if (contentRange.start !== startByte) fail('ServerError', `asked for byte ${startByte}, got ${out.ContentRange}`);
      const total = contentRange.total ?? endByteExclusive;
      return { body, skipBytes: 0, endByteExclusive: Math.min(endByteExclusive, total) };
    }
    // No Content-Range: the whole object came with 200.
    const total = out.ContentLength ?? endByteExclusive;
    if (total <= startByte) fail('ServerError', `asked for byte ${startByte} of an object of ${total} bytes`);
    return { body, skipBytes: startByte, endByteExclusive: Math.min(endByteExclusive, total) };
  });
}
