import { describe, expect, it } from 'vitest';
import {
  CAPABILITY_DESCRIPTIONS,
  CapabilityTracker,
  describeCapabilities,
  kindOfEndpoint,
  kindOfResponse,
  parseCapabilityOverrides,
} from '../../src/s3/capabilities.js';
import { backoffDelayMs, BackoffRetryStrategy } from '../../src/s3/retry.js';

const custom = { endpoint: 'http://127.0.0.1:9000', pathStyle: true, checksumMode: 'when-required' as const };

describe('server kind', () => {
  it('comes from the endpoint before any answer', () => {
    expect(kindOfEndpoint(undefined)).toBe('aws');
    expect(kindOfEndpoint('https://s3.eu-west-3.amazonaws.com')).toBe('aws');
    expect(kindOfEndpoint('http://127.0.0.1:9000')).toBe('unknown');
    expect(kindOfEndpoint('not a url')).toBe('unknown');
  });

  it('comes from the Server header or the request-id format of an answer', () => {
    expect(kindOfResponse({ server: 'AmazonS3' })).toBe('aws');
    expect(kindOfResponse({ server: 'MinIO' })).toBe('minio');
    expect(kindOfResponse({ server: 'Ceph Object Gateway (squid)' })).toBe('ceph');
    expect(kindOfResponse({ 'x-amz-request-id': 'tx00000b8adafa44318bdac-006b104997-1010-default' })).toBe('ceph');
    expect(kindOfResponse({ 'x-amz-request-id': '17A3C0F9D2B6E4A1' })).toBeUndefined();
    expect(kindOfResponse({})).toBeUndefined();
  });
});

describe('CapabilityTracker', () => {
  it('starts careful on an unknown server and takes the kind defaults once an answer reveals it', () => {
    const notices: string[] = [];
    const tracker = new CapabilityTracker(custom, {}, (line) => notices.push(line));
    expect(tracker.kind).toBe('unknown');
    expect(tracker.current).toMatchObject({ uploadPartCopyConditions: false, copyIfMatchHeaderName: 'x-amz-copy-if-match', pathStyle: true, flexibleChecksums: false });
    tracker.observe({ server: 'MinIO' });
    expect(tracker.kind).toBe('minio');
    expect(tracker.current).toMatchObject({ uploadPartCopyConditions: true, copyIfMatchHeaderName: 'x-amz-copy-source-if-match' });
    // Later answers do not change a kind once known.
    tracker.observe({ server: 'AmazonS3' });
    expect(tracker.kind).toBe('minio');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^s3 server looks like minio: pathStyle=true .*completeReturnsEtag=true$/);
  });

  it('ranks overrides over evidence over kind defaults, and logs each change once', () => {
    const notices: string[] = [];
    const tracker = new CapabilityTracker({ ...custom, endpoint: undefined }, { completeReturnsEtag: true }, (line) => notices.push(line));
    expect(tracker.current.uploadPartCopySupported).toBe(true);
    tracker.learn('uploadPartCopySupported', false, 'UploadPartCopy answered HTTP 501');
    tracker.learn('uploadPartCopySupported', false, 'again');
    expect(tracker.current.uploadPartCopySupported).toBe(false);
    tracker.learn('completeReturnsEtag', false, 'empty ETag');
    expect(tracker.current.completeReturnsEtag).toBe(true);
    expect(tracker.isOverridden('completeReturnsEtag')).toBe(true);
    expect(tracker.learned.map((l) => [l.name, l.value])).toEqual([['uploadPartCopySupported', false], ['completeReturnsEtag', false]]);
    expect(notices).toEqual([
      's3 capability uploadPartCopySupported=false: UploadPartCopy answered HTTP 501',
      's3 capability completeReturnsEtag=false (ignored: overridden): empty ETag',
    ]);
  });

  it('takes path style and checksums from the config', () => {
    const tracker = new CapabilityTracker({ endpoint: undefined, pathStyle: false, checksumMode: 'when-supported' });
    expect(tracker.current).toMatchObject({ pathStyle: false, flexibleChecksums: true });
  });

  it('describes every flag', () => {
    const tracker = new CapabilityTracker(custom);
    expect(Object.keys(CAPABILITY_DESCRIPTIONS).sort()).toEqual(Object.keys(tracker.current).sort());
    expect(describeCapabilities(tracker.current).split(' ')).toHaveLength(Object.keys(CAPABILITY_DESCRIPTIONS).length);
  });
});

describe('parseCapabilityOverrides', () => {
  it('reads NAME=VALUE pairs', () => {
    expect(parseCapabilityOverrides(['uploadPartCopyConditions=true', 'conditionalCopy=no', 'copyIfMatchHeaderName=x-amz-copy-if-match'])).toEqual({
      uploadPartCopyConditions: true,
      conditionalCopy: false,
      copyIfMatchHeaderName: 'x-amz-copy-if-match',
    });
  });

  it('refuses unknown names and bad values with a message that says what is valid', () => {
    expect(() => parseCapabilityOverrides(['fastMode=true'])).toThrow(/NAME one of pathStyle, flexibleChecksums/);
    expect(() => parseCapabilityOverrides(['conditionalCopy=maybe'])).toThrow("conditionalCopy must be true or false, not 'maybe'");
    expect(() => parseCapabilityOverrides(['copyIfMatchHeaderName=x-foo'])).toThrow(/must be x-amz-copy-source-if-match or x-amz-copy-if-match/);
  });
});

describe('retries', () => {
  const policy = { maxAttempts: 6, retryBaseDelayMs: 200, retryMaxDelayMs: 5_000 };

  it('back off exponentially with jitter, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, policy, () => 0))).toEqual([100, 200, 400, 800, 1600, 2500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, policy, () => 1))).toEqual([200, 400, 800, 1600, 3200, 5000]);
  });

  it('retry throttling and transient errors until maxAttempts, and nothing else', async () => {
    const strategy = new BackoffRetryStrategy(policy);
    let token = await strategy.acquireInitialRetryToken('');
    for (let retry = 1; retry < policy.maxAttempts; retry++) {
      token = await strategy.refreshRetryTokenForRetry(token, { errorType: retry % 2 === 0 ? 'THROTTLING' : 'TRANSIENT' });
      expect(token.getRetryCount()).toBe(retry);
      expect(token.getRetryDelay()).toBeLessThanOrEqual(5_000);
    }
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' })).rejects.toThrow();
    const fresh = await strategy.acquireInitialRetryToken('');
    await expect(strategy.refreshRetryTokenForRetry(fresh, { errorType: 'CLIENT_ERROR' })).rejects.toThrow();
    await expect(strategy.refreshRetryTokenForRetry(fresh, { errorType: 'SERVER_ERROR' })).rejects.toThrow();
  });

  it('believe a Retry-After hint within the cap', async () => {
    const strategy = new BackoffRetryStrategy(policy);
    const token = await strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(''), {
      errorType: 'THROTTLING',
      retryAfterHint: new Date(Date.now() + 60_000),
    });
    expect(token.getRetryDelay()).toBe(5_000);
  });
});
