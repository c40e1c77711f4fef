import { describe, expect, it } from 'vitest';
import { describeMountError, phraseDiagnosis, phraseFix } from '../../src/cli/advice.js';
import { DEFAULTS, type S3Config } from '../../src/config.js';
import { diagnose, type Fix } from '../../src/s3/diagnosis.js';
import { toStoreError } from '../../src/s3/errors.js';

const s3: S3Config = { bucket: 'b', prefix: '', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: true, profile: undefined, ...DEFAULTS.s3 };

/** An SDK-shaped error as the client throws it. */
function sdkError(name: string, status: number, extra: Record<string, unknown> = {}): unknown {
  return Object.assign(new Error('m'), { name, Code: name, $metadata: { httpStatusCode: status, requestId: 'R1' }, ...extra });
}

describe('diagnose (src/s3): structured, without command-line words', () => {
  const cases: { error: unknown; config?: Partial<S3Config>; code: string; fix: Fix }[] = [
    { error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), code: 'Unreachable', fix: { kind: 'check-endpoint' } },
    { error: sdkError('SignatureDoesNotMatch', 403), code: 'InvalidCredentials', fix: { kind: 'check-secret-key' } },
    { error: sdkError('InvalidAccessKeyId', 403), code: 'InvalidCredentials', fix: { kind: 'check-access-key' } },
    { error: sdkError('AccessDenied', 403), config: { prefix: 'p/' }, code: 'AccessDenied', fix: { kind: 'grant-permission', permission: 's3:ListBucket', prefix: 'p/' } },
    { error: sdkError('PermanentRedirect', 301, { $response: { headers: { 'x-amz-bucket-region': 'eu-west-3' } } }), code: 'WrongRegionOrStyle', fix: { kind: 'set-region', region: 'eu-west-3' } },
    { error: sdkError('AuthorizationHeaderMalformed', 400, { Region: 'ap-south-1' }), code: 'WrongRegionOrStyle', fix: { kind: 'set-region', region: 'ap-south-1' } },
    { error: sdkError('PermanentRedirect', 301), config: { pathStyle: false }, code: 'WrongRegionOrStyle', fix: { kind: 'use-path-style' } },
    { error: sdkError('SlowDown', 503), code: 'Throttled', fix: { kind: 'retry-later' } },
    { error: sdkError('NotImplemented', 501), code: 'NotImplemented', fix: { kind: 'use-s3-server', call: 'ListObjectsV2' } },
  ];
  it.each(cases)('$code → $fix.kind', ({ error, config, code, fix }) => {
    const d = diagnose(toStoreError(error, 'CHECK s3://b/'), { ...s3, ...config });
    expect(d.code).toBe(code);
    expect(d.fix).toEqual(fix);
    expect(d.cause).not.toMatch(/--|AWS_/);
  });

  it('an unforeseen failure keeps the raw message as detail', () => {
    const d = diagnose(toStoreError(sdkError('Teapot', 418), 'CHECK s3://b/'), s3);
    expect(d).toMatchObject({ code: 'Unknown', cause: "cannot use bucket 'b' at http://127.0.0.1:9000", fix: { kind: 'none' } });
    expect(phraseDiagnosis(d)).toMatch(/^cannot use bucket 'b' at http:\/\/127\.0\.0\.1:9000: CHECK s3:\/\/b\/: Unknown \(Teapot, HTTP 418, m\), request id R1$/);
  });
});

describe('the CLI phrases each fix in its own vocabulary', () => {
  it('names the flag to pass', () => {
    const redirect = toStoreError(sdkError('PermanentRedirect', 301, { $response: { headers: { 'x-amz-bucket-region': 'eu-west-3' } } }), 'CHECK');
    expect(describeMountError(redirect, s3)).toBe('the server redirected the request: the bucket lives in region eu-west-3 — pass --region eu-west-3');
    expect(phraseFix({ kind: 'use-path-style' })).toBe('try --path-style');
    expect(phraseFix({ kind: 'worked-around', how: 'bucketfs checks each answer itself' })).toBe('none needed: bucketfs checks each answer itself');
    expect(phraseFix({ kind: 'none' })).toBeUndefined();
  });
});
