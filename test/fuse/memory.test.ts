// The daemon's memory stays bounded by --memory (read-ahead and upload buffers) and --cache-size,
// whatever the size of the file written: a 2 GiB write goes through the disk spool and parts of
// --part-size, so the daemon's peak RSS (VmHWM) stays far below the file size.

import { promises as fsp } from 'node:fs';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { mountBucket, mustRun, unmountAll } from '../support/mount-session.js';
import { makeClient } from '../support/s3-server.js';
import { newBucket, s3Server } from '../support/s3-env.js';

const MiB = 1024 * 1024;

async function peakRssBytes(pid: number): Promise<number> {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (!kib) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(kib) * 1024;
}

describe('memory', () => {
  afterAll(unmountAll);

  // 8M parts are the default; 512M parts are what S3's 10,000-part limit needs for a 5 TiB object.
  it.each(['8M', '512M'])('writes 2 GiB in %s parts with a 32 MiB budget without the daemon growing past a few hundred MiB', async (partSize) => {
    const bucket = await newBucket('memory');
    const mount = await mountBucket({
      bucket,
      s3: s3Server(),
      extraArgs: ['--memory', '32M', '--cache-size', '16M', '--part-size', partSize, '--upload-concurrency', '4'],
    });
    const before = await peakRssBytes(mount.pid);
    await mustRun('dd', ['if=/dev/zero', `of=${mount.dir}/big.bin`, 'bs=1M', 'count=2048', 'status=none'], { timeoutMs: 600_000 });
    const peak = await peakRssBytes(mount.pid);
    const head = await makeClient(s3Server()).send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    expect(head.ContentLength).toBe(2048 * MiB);
    expect(head.ETag).toMatch(/-\d+"$/); // streamed as a multipart upload
    // Budget 32 MiB + cache 16 MiB + the runtime's own slack: neither the file nor a part of it
    // ever sits in memory (parts stream from the spool).
    expect(peak - before).toBeLessThan(192 * MiB);
    expect(peak).toBeLessThan(512 * MiB);
    await mount.unmount();
  });
});
