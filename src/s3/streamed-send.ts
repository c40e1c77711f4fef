// Requests whose body is streamed (PutObject and UploadPart of a body that is not in memory): the
// SDK cannot rewind a stream to retry it, so these go out with one attempt each, and this module
// retries with a fresh stream from the body's first byte — with the same attempts and backoff the
// SDK applies to every other request, and only for failures that may pass.

import { Readable } from 'node:stream';
import type { S3Context } from './context.js';
import type { StreamedBody } from './object-store.js';
import { backoffDelayMs } from './retry.js';
import { isStoreError, type StoreErrorCode } from './store-error.js';

const RETRIED: ReadonlySet<StoreErrorCode> = new Set(['Unreachable', 'Timeout', 'Throttled', 'ServerError']);

/**
 * Runs `send` with a fresh stream of `body` until it succeeds, fails for a reason a retry cannot
 * change, or has used every attempt. `send` goes through ctx.request (one log line per attempt).
 */
export async function sendStreamed<T>(ctx: S3Context, body: StreamedBody, send: (stream: Readable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send(Readable.from(body.chunks(), { objectMode: false }));
    } catch (e) {
      if (attempt >= ctx.retry.maxAttempts || !isStoreError(e) || !RETRIED.has(e.code)) throw e;
      await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, ctx.retry)));
    }
  }
}
