// The pieces around a mount of every bucket: the command-line and fstab forms that ask for one, the
// passwd line it takes its keys from, the rules of a new bucket's name, the errors bucket calls
// answer with, the block cache one bucket sees of the shared one, and how `bucketfs status` shows it.

import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { BlockCache } from '../../src/cache/block-cache.js';
import { BucketBlockCache } from '../../src/cache/bucket-block-cache.js';
import { buildConfig, mountOptions, mountTarget, type MountArgs } from '../../src/cli/mount.js';
import { UsageError } from '../../src/cli/options.js';
import { formatStatus, type MountStatus } from '../../src/control/status.js';
import { CredentialsError, keysFromPasswd } from '../../src/credentials.js';
import { toErrno } from '../../src/fs/errno.js';
import { helperCall } from '../../src/fstab.js';
import { bucketNameProblem } from '../../src/s3/bucket-names.js';
import { toStoreError } from '../../src/s3/errors.js';
import { StoreError } from '../../src/s3/store-error.js';

async function configOf(source: string, mountpoint: string | undefined) {
  const args = await mountOptions(yargs([])).parseAsync();
  return buildConfig({ ...args, source, mountpoint } as MountArgs);
}

describe('the forms of bucketfs mount', () => {
  it('one positional is the mountpoint and mounts every bucket; * names every bucket too', async () => {
    expect(mountTarget({ source: '/mnt/s3', mountpoint: undefined })).toEqual({ source: undefined, mountpoint: '/mnt/s3' });
    expect(mountTarget({ source: '*', mountpoint: '/mnt/s3' })).toEqual({ source: undefined, mountpoint: '/mnt/s3' });
    expect(mountTarget({ source: 'photos:2024/', mountpoint: '/mnt/p' })).toEqual({ source: 'photos:2024/', mountpoint: '/mnt/p' });
    expect(() => mountTarget({ source: '*', mountpoint: undefined })).toThrow(UsageError);
    const all = await configOf('/mnt/s3', undefined);
    expect([all.allBuckets, all.mountpoint, all.s3.bucket, all.s3.prefix]).toEqual([true, '/mnt/s3', '', '']);
    const one = await configOf('photos:2024', '/mnt/p');
    expect([one.allBuckets, one.s3.bucket, one.s3.prefix]).toEqual([false, 'photos', '2024/']);
  });

  it('the fstab helper passes a source of * on, for every bucket', () => {
    expect(helperCall(['*', '/mnt/s3', '-o', 'endpoint=http://127.0.0.1:9000']).args).toEqual(['mount', '*', '/mnt/s3', '--endpoint=http://127.0.0.1:9000']);
    expect(() => helperCall(['/mnt/s3'])).toThrow(/\* MOUNTPOINT for every bucket/);
  });

  it('every bucket takes the passwd line meant for every bucket', () => {
    expect(keysFromPasswd('photos:AKP:sp\nAKALL:sall\n', '', 'f')).toEqual({ accessKeyId: 'AKALL', secretAccessKey: 'sall' });
    expect(() => keysFromPasswd('photos:AKP:sp\n', '', 'f')).toThrow(CredentialsError);
    expect(() => keysFromPasswd('photos:AKP:sp\n', '', 'f')).toThrow(/no ACCESS_KEY:SECRET line/);
  });
});

describe('bucket names and bucket errors', () => {
  it('a new bucket’s name follows S3’s rules', () => {
    for (const good of ['abc', 'my-bucket.2024', '0-9', 'x'.repeat(63)]) expect(bucketNameProblem(good), good).toBeUndefined();
    for (const bad of ['ab', 'x'.repeat(64), 'Upper', 'under_score', '-start', 'end-', 'a..b', '10.0.0.1', 'sp ace']) {
      expect(bucketNameProblem(bad), bad).toBeDefined();
    }
  });

  it('BucketNotEmpty is ENOTEMPTY, a name taken EEXIST, a quota reached EDQUOT, access denied EACCES', () => {
    const answer = (Code: string, httpStatusCode: number) => toStoreError({ name: Code, Code, $metadata: { httpStatusCode } }, 'BUCKET x');
    expect(answer('BucketNotEmpty', 409).code).toBe('BucketNotEmpty');
    expect(answer('BucketAlreadyExists', 409).code).toBe('BucketExists');
    expect(answer('BucketAlreadyOwnedByYou', 409).code).toBe('BucketExists');
    expect(answer('TooManyBuckets', 400).code).toBe('TooManyBuckets');
    expect(answer('InvalidBucketName', 400).code).toBe('InvalidArgument');
    const errno = (code: StoreError['code']) => toErrno(new StoreError(code, code));
    expect([errno('BucketNotEmpty'), errno('BucketExists'), errno('TooManyBuckets'), errno('AccessDenied'), errno('InvalidArgument')].map((e) => e.name)).toEqual([
      'ENOTEMPTY',
      'EEXIST',
      'EDQUOT',
      'EACCES',
      'EINVAL',
    ]);
    // A bucket that holds something or a name taken is an answer, not a failure worth a log line.
    expect([errno('BucketNotEmpty').unexpected, errno('BucketExists').unexpected]).toEqual([false, false]);
  });
});

describe('one bucket’s view of the shared block cache', () => {
  it('forwards every method of BlockCache', () => {
    const methods = Object.getOwnPropertyNames(BlockCache.prototype).filter((name) => name !== 'constructor');
    const forwarded = Object.getOwnPropertyNames(BucketBlockCache.prototype);
    expect(methods.filter((name) => !forwarded.includes(name))).toEqual([]);
  });

  it('keeps equal keys with equal ETags of two buckets apart, in one capacity', async () => {
    const shared = new BlockCache({ capacityBytes: 4, blockSizeBytes: 2 });
    const a = new BucketBlockCache(shared, 'a');
    const b = new BucketBlockCache(shared, 'b');
    expect(await a.get('k', '"e"', 0, async () => Buffer.from('aa'))).toEqual(Buffer.from('aa'));
    expect(await b.get('k', '"e"', 0, async () => Buffer.from('bb'))).toEqual(Buffer.from('bb'));
    expect([a.peek('k', '"e"', 0)?.toString(), b.peek('k', '"e"', 0)?.toString()]).toEqual(['aa', 'bb']);
    expect(shared.stats().sizeBytes).toBe(4);
    b.invalidate('k');
    expect([a.has('k', '"e"', 0), b.has('k', '"e"', 0)]).toEqual([true, false]);
    expect(a.capacityBytes).toBe(4);
  });
});

describe('bucketfs status of a mount of every bucket', () => {
  it('shows every bucket in use on a line of its own', () => {
    const MiB = 1024 * 1024;
    const bucket = (name: string, writing: number, inFlight: number) => ({
      bucket: name,
      spool: { dir: `/spool/${name}-1/mount-x`, usedBytes: writing * MiB, capacityBytes: 64 * 1024 * MiB },
      openFiles: { writing, reading: 0 },
      uploads: { inFlight, pending: 0, pendingRetries: 0 },
    });
    const status: MountStatus = {
      mountpoint: '/mnt/s3',
      pid: 7,
      bucket: '*',
      prefix: '',
      endpoint: 'http://127.0.0.1:9000',
      startedAt: '2026-12-02T00:00:00.000Z',
      uptimeSeconds: 5,
      writeBack: false,
      readOnly: false,
      cache: { sizeBytes: 0, capacityBytes: 256 * MiB, hits: 0, misses: 0 },
      spool: { dir: '/spool', usedBytes: MiB, capacityBytes: 64 * 1024 * MiB },
      openFiles: { writing: 1, reading: 0 },
      uploads: { inFlight: [{ path: '/photos/big.bin', sizeBytes: 4 * MiB, doneBytes: MiB, bytesPerSecond: MiB, etaSeconds: 3 }], pending: [], pendingRetries: 0 },
      s3: { requests: 3, failed: 0 },
      errors: { count: 0, last: undefined, lastAt: undefined },
      buckets: [bucket('logs', 0, 0), bucket('photos', 1, 1)],
    };
    expect(formatStatus(status).split('\n')).toEqual([
      '/mnt/s3',
      '  buckets     every bucket at http://127.0.0.1:9000',
      '  daemon      pid 7, up 5s, upload before close',
      '  cache       0 B of 256.0 MiB, 0 hits, 0 misses',
      '  spool       1.0 MiB in 2 bucket folders below /spool (each up to 64.0 GiB)',
      '  open files  1 writing, 0 reading',
      '  uploads     1 in flight, 0 queued, 0 pending retries',
      '  requests    3 to S3, 0 failed',
      '  errors      0',
      '  in logs     0 writing, 0 reading, 0 uploading, 0 pending, 0 pending retries; spool 0 B in /spool/logs-1/mount-x',
      '  in photos   1 writing, 0 reading, 1 uploading, 0 pending, 0 pending retries; spool 1.0 MiB in /spool/photos-1/mount-x',
      '    [#####---------------]  25%  1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 3s  /photos/big.bin',
    ]);
  });
});
