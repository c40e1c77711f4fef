// The S3 option group as every S3 command parses it: capabilities set by hand, and the one-line
// errors bad values get.
import { describe, expect, it } from 'vitest';
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
