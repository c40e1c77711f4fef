// Counters a daemon keeps for `bucketfs status`: S3 requests and those that failed (404s are answers,
// not failures), read from the store's diagnostics channel so no layer has to call us; and errors
// logged (a Logger wrapper that counts ERROR lines and keeps the last one). Cheap enough to run always.

import diagnosticsChannel from 'node:diagnostics_channel';
import type { Logger } from '../log.js';
import { S3_REQUEST_CHANNEL, type S3RequestEvent } from '../s3/s3-object-store.js';

export class MountCounters {
  requests = 0;
  failedRequests = 0;
  errors = 0;
  lastError: string | undefined;
  lastErrorAt: string | undefined;
  readonly #onRequest = (message: unknown): void => {
    this.requests++;
    // A 404 is an answer (a lookup of a name that does not exist), not a failure.
    const code = (message as S3RequestEvent).errorCode;
    if (code !== undefined && code !== 'NotFound') this.failedRequests++;
  };

  constructor() {
    diagnosticsChannel.subscribe(S3_REQUEST_CHANNEL, this.#onRequest);
  }

  /** `log`, with every error line counted; its level stays `log`'s (SIGUSR2 may change it). */
  counting(log: Logger): Logger {
    return {
      warn: (message, fields) => log.warn(message, fields),
      info: (message, fields) => log.info(message, fields),
      debug: (message, fields) => log.debug(message, fields),
      get debugEnabled() {
        return log.debugEnabled;
      },
      error: (message, fields) => {
        this.errors++;
        this.lastError = message;
        this.lastErrorAt = new Date().toISOString();
        log.error(message, fields);
      },
    };
  }

  close(): void {
    diagnosticsChannel.unsubscribe(S3_REQUEST_CHANNEL, this.#onRequest);
  }
}
