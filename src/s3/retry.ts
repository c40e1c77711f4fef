// Retries, as the MinIO client does them: a fixed number of attempts on throttling (503 SlowDown,
// 429), server hiccups (500/502/503/504) and network failures (resets, timeouts), with exponential
// backoff. Unlike the SDK's standard strategy there is no shared retry quota: under a long outage
// every request still gets all its attempts instead of the first few draining a bucket for all.

/** How the SDK's retry middleware classifies a failed attempt. */
type RetryErrorType = 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR';

interface RetryErrorInfo {
  readonly errorType: RetryErrorType;
  readonly retryAfterHint?: Date;
}

interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  readonly maxAttempts: number;
  /** Backoff before the first retry, ms; it doubles for each later one. */
  readonly retryBaseDelayMs: number;
  /** Longest backoff between two attempts, ms. */
  readonly retryMaxDelayMs: number;
}

/**
 * Backoff before retry number `retry` (1 for the first): half of base·2^(retry-1) for sure plus up
 * to as much again at random (so parallel clients spread out), capped at retryMaxDelayMs.
 */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.retryMaxDelayMs, policy.retryBaseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The SDK's RetryStrategyV2, structurally (the interface lives in a package bucketfs does not depend on). */
export class BackoffRetryStrategy {
  readonly mode = 'standard';
  readonly #policy: RetryPolicy;

  constructor(policy: RetryPolicy) {
    this.#policy = policy;
  }

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retry = previous.getRetryCount() + 1;
    if ((info.errorType !== 'TRANSIENT' && info.errorType !== 'THROTTLING') || retry >= this.#policy.maxAttempts) {
      // The middleware then rethrows the attempt's own error, with $metadata.attempts set.
      throw new Error('no retry');
    }
    let delay = backoffDelayMs(retry, this.#policy);
    // A server that says when to come back is believed, within the cap.
    const hintMs = info.retryAfterHint !== undefined ? info.retryAfterHint.getTime() - Date.now() : 0;
    if (hintMs > delay) delay = Math.min(hintMs, this.#policy.retryMaxDelayMs);
    return token(retry, delay);
  }

  recordSuccess(_token: RetryToken): void {
    // No quota to refill.
  }
}

function token(count: number, delayMs: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delayMs };
}
