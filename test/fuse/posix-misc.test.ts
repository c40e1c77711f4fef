// Smaller POSIX promises of docs/SEMANTICS.md, on a real mount: locks are the kernel's and local to
// the mount (flock excludes a second process here; nothing is stored in S3), and statfs reports
// --disk-size with everything free, since S3 has no capacity of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountBucket, mustRun, runTool, unmountAll, type MountSession } from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';

let mount: MountSession;

beforeAll(async () => {
  mount = await mountBucket({ bucket: await newBucket('posix-misc'), s3: s3Server(), extraArgs: ['--disk-size', '2T'] });
});
afterAll(unmountAll);

describe('locks', () => {
  it('flock on a file of the mount excludes a second local process', async () => {
    const file = `${mount.dir}/locked`;
    await mustRun('sh', ['-c', `echo data > '${file}'`]);
    // The holder keeps the lock for 3 s; the contender tries without blocking meanwhile.
    const holder = runTool('flock', ['--exclusive', file, 'sleep', '3']);
    let contended = await runTool('flock', ['--exclusive', '--nonblock', file, 'true']);
    for (let i = 0; i < 20 && contended.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      contended = await runTool('flock', ['--exclusive', '--nonblock', file, 'true']);
    }
    expect(contended.code).toBe(1);
    expect((await holder).code).toBe(0);
    expect((await runTool('flock', ['--exclusive', '--nonblock', file, 'true'])).code).toBe(0);
  });
});

describe('statfs', () => {
  it('df reports the --disk-size capacity, all of it free', async () => {
    const { stdout } = await mustRun('df', ['--block-size=1', '--output=size,avail', mount.dir]);
    const [size, avail] = (stdout.trim().split('\n')[1] ?? '').trim().split(/\s+/).map(Number);
    expect(size).toBe(2 * 1024 ** 4);
    expect(avail).toBe(size);
  });
});
