// Presigned URLs as the store makes them (signing sends nothing, so no server is needed): a GET for
// the key below the mount's prefix; a PUT with the mount's storage class in the URL and its
// encryption as signed headers the uploader must send; SSE-C and expiries outside 1 s..7 days refused.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expiresOption } from '../../src/cli/url.js';
import { DEFAULTS, type S3Config } from '../../src/config.js';
import { S3Context } from '../../src/s3/context.js';
import { presign } from '../../src/s3/presign.js';
import { useFakeAwsKeys } from '../support/fake-keys.js';

function context(overrides: Partial<S3Config> = {}): S3Context {
  return S3Context.create({ bucket: 'photos', prefix: '2024/', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: true, profile: undefined, ...DEFAULTS.s3, ...overrides });
}

useFakeAwsKeys();

describe('presigned URLs', () => {
  it('GET: the key below the prefix, the expiry asked for, no headers to send', async () => {
    const ctx = context();
    try {
      const p = await presign(ctx, undefined, 'a b/c.jpg', 'GET', 600);
      const url = new URL(p.url);
      expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:9000/photos/2024/a%20b/c.jpg');
      expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
      expect(p.headers).toEqual({});
      expect(Date.parse(p.expiresAt) - Date.now()).toBeGreaterThan(590_000);
    } finally {
      ctx.clients.destroy();
    }
  });

  it('PUT: the storage class in the URL, SSE as signed headers the uploader must send', async () => {
    const config = { encryption: { kind: 'kms', keyId: 'alias/k' }, storageClass: 'STANDARD_IA' } as const;
    const ctx = context(config);
    try {
      const p = await presign(ctx, config.encryption, 'x.bin', 'PUT', 3600);
      const url = new URL(p.url);
      expect(url.searchParams.get('x-amz-storage-class')).toBe('STANDARD_IA');
      expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(expect.arrayContaining(['host', 'x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id']));
      expect(p.headers).toEqual({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/k' });
    } finally {
      ctx.clients.destroy();
    }
  });

  it('refuses SSE-C, a directory, and expiries outside 1 s to 7 days', async () => {
    const ctx = context();
    try {
      await expect(presign(ctx, { kind: 'c', key: randomBytes(32) }, 'x', 'GET', 60)).rejects.toThrow(/customer key \(SSE-C\).*cannot carry/);
      await expect(presign(ctx, undefined, 'dir/', 'GET', 60)).rejects.toThrow(/a directory has no object/);
      await expect(presign(ctx, undefined, 'x', 'GET', 0)).rejects.toThrow(/from 1 second to 7 days/);
      await expect(presign(ctx, undefined, 'x', 'GET', 7 * 86400 + 1)).rejects.toThrow(/from 1 second to 7 days/);
    } finally {
      ctx.clients.destroy();
    }
  });

  it('--expires: a duration up to 7d, an hour by default', () => {
    expect(expiresOption(undefined)).toBe(3600);
    expect(expiresOption('10m')).toBe(600);
    expect(expiresOption('7d')).toBe(604_800);
    expect(() => expiresOption('8d')).toThrow(/7d at most/);
    expect(() => expiresOption('0s')).toThrow(/1s at least/);
  });
});
