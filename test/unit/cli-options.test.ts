// The S3 option group as every S3 command parses it: capabilities set by hand, the endpoint's URL
// and HOST[:PORT] forms, encryption and storage class, and the one-line errors bad values get.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { buildS3Config, s3Options, UsageError } from '../../src/cli/options.js';

async function configOf(args: string[]) {
  return buildS3Config(await s3Options(yargs(args)).parseAsync(), 'bucket');
}

describe('the S3 options', () => {
  it('take capabilities as a comma-separated NAME=VALUE list', async () => {
    expect((await configOf(['--capability', 'uploadPartCopyConditions=false,conditionalCopy=true'])).capabilities).toEqual({
      uploadPartCopyConditions: false,
      conditionalCopy: true,
    });
    expect((await configOf([])).capabilities).toBeUndefined();
  });

  it('refuse an unknown capability with the names that exist', async () => {
    await expect(configOf(['--capability', 'teleport=true'])).rejects.toThrow(UsageError);
    await expect(configOf(['--capability', 'teleport=true'])).rejects.toThrow(/one of pathStyle/);
  });
});

describe('--endpoint', () => {
  const endpointOf = async (args: string[]) => (await configOf(args)).endpoint;

  it('takes HOST:PORT as the MinIO client does, https unless --no-secure', async () => {
    expect(await endpointOf(['--endpoint', '127.0.0.1:9000'])).toBe('https://127.0.0.1:9000');
    expect(await endpointOf(['--endpoint', '127.0.0.1:9000', '--no-secure'])).toBe('http://127.0.0.1:9000');
    expect(await endpointOf(['--endpoint', 'minio.example.net', '--secure'])).toBe('https://minio.example.net');
    expect(await endpointOf(['--endpoint', '[::1]:9000', '--no-secure'])).toBe('http://[::1]:9000');
    // Path style stays on for any custom endpoint, whichever form named it.
    expect((await configOf(['--endpoint', 'minio.local:9000'])).pathStyle).toBe(true);
  });

  it('keeps a URL as given, and refuses a --secure that contradicts its scheme', async () => {
    expect(await endpointOf(['--endpoint', 'http://127.0.0.1:9000'])).toBe('http://127.0.0.1:9000');
    expect(await endpointOf(['--endpoint', 'https://s3.example.net', '--secure'])).toBe('https://s3.example.net');
    await expect(endpointOf(['--endpoint', 'http://127.0.0.1:9000', '--secure'])).rejects.toThrow(/says http but --secure asks for https/);
  });

  it.each([
    ['127.0.0.1:99999', /port must be a number from 1 to 65535/],
    ['127.0.0.1:0', /port must be a number from 1 to 65535/],
    ['host:port', /neither a URL .* nor HOST\[:PORT\]/],
    ['minio.local:9000/bucket', /neither a URL .* nor HOST\[:PORT\]/],
    ['ftp://127.0.0.1', /must start with http:\/\/ or https:\/\//],
    ['http://', /is not a URL/],
  ])('refuses %s in one line', async (value, message) => {
    const error = await configOf(['--endpoint', value]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('refuses --no-secure without an endpoint: AWS S3 is https only', async () => {
    const saved = { url: process.env.AWS_ENDPOINT_URL, s3: process.env.AWS_ENDPOINT_URL_S3 };
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL_S3;
    try {
      await expect(endpointOf(['--no-secure'])).rejects.toThrow(/--no-secure needs --endpoint/);
    } finally {
      if (saved.url !== undefined) process.env.AWS_ENDPOINT_URL = saved.url;
      if (saved.s3 !== undefined) process.env.AWS_ENDPOINT_URL_S3 = saved.s3;
    }
  });
});

describe('--sse and --storage-class', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bucketfs-sse-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const keyFile = (name: string, content: string | Buffer, mode = 0o600): string => {
    const file = path.join(tmp, name);
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
    return file;
  };
  const key = randomBytes(32);

  it('read an SSE-C key file of 32 raw bytes or their base64', async () => {
    const raw = await configOf(['--sse', 'c', '--sse-c-key-file', keyFile('raw', key)]);
    expect(raw.encryption).toEqual({ kind: 'c', key: new Uint8Array(key) });
    const b64 = await configOf(['--sse', 'c', '--sse-c-key-file', keyFile('b64', `${key.toString('base64')}\n`)]);
    expect(b64.encryption).toEqual({ kind: 'c', key: new Uint8Array(key) });
  });

  it('take s3, kms with or without a key id, and any storage class name', async () => {
    expect((await configOf(['--sse', 's3'])).encryption).toEqual({ kind: 's3' });
    expect((await configOf(['--sse', 'kms', '--sse-kms-key-id', 'alias/backup'])).encryption).toEqual({ kind: 'kms', keyId: 'alias/backup' });
    expect((await configOf(['--sse', 'kms'])).encryption).toEqual({ kind: 'kms', keyId: undefined });
    expect((await configOf(['--storage-class', 'GLACIER_IR'])).storageClass).toBe('GLACIER_IR');
    expect(await configOf([])).toMatchObject({ encryption: undefined, storageClass: undefined });
  });

  it.each([
    [['--sse', 'c'], /--sse c needs --sse-c-key-file/],
    [['--sse-c-key-file', '/x'], /--sse-c-key-file needs --sse c/],
    [['--sse-kms-key-id', 'k'], /--sse-kms-key-id needs --sse kms/],
    [['--sse', 'c', '--sse-c-key-file', '/nonexistent/key'], /\/nonexistent\/key: it does not exist/],
    [['--storage-class', 'two words'], /is not a storage class name/],
  ])('refuse %j in one line', async (args, message) => {
    await expect(configOf(args)).rejects.toThrow(message);
  });

  it('refuse a key file others may read, or one that holds no 32-byte key', async () => {
    await expect(configOf(['--sse', 'c', '--sse-c-key-file', keyFile('open', key, 0o644)])).rejects.toThrow(/may be read by others \(mode 644\): chmod 600/);
    await expect(configOf(['--sse', 'c', '--sse-c-key-file', keyFile('short', randomBytes(16).toString('base64'))])).rejects.toThrow(/must hold a 32-byte key, raw or base64/);
    await expect(configOf(['--sse', 'c', '--sse-c-key-file', keyFile('bytes', randomBytes(31))])).rejects.toThrow(/it holds 31 bytes/);
  });
});
