// Run-time faults on a real mount of the real S3 server, behind a TCP fault proxy: a read whose
// server went away or stopped answering must end with EIO or ETIMEDOUT after the configured retries
// (never hang), the daemon must survive it, and reads must work again once the network is back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { putObject, pseudoRandomBytes, sha256 } from '../support/fixtures.js';
import { isAlive, mountBucket, runTool, unmountAll, type MountSession } from '../support/mount-session.js';
import { readAt } from '../support/timed-io.js';
import { makeClient } from '../support/s3-server.js';
import { newBucket, s3Server } from '../support/s3-env.js';

const MiB = 1024 * 1024;
const data = pseudoRandomBytes('faults', 8 * MiB);

describe('run-time network faults', () => {
  let proxy: FaultProxy;
  let mount: MountSession;
  let bucket: string;

  beforeAll(async () => {
    const server = s3Server();
    bucket = await newBucket('faults');
    await putObject(makeClient(server), bucket, 'data.bin', data);
    proxy = await startFaultProxy(server.endpoint);
    mount = await mountBucket({
      bucket,
      s3: { ...server, endpoint: proxy.endpoint },
      // Small blocks, no read-ahead and no page cache kept across opens, so each read below needs its own GET.
      extraArgs: ['--max-attempts', '2', '--request-timeout', '2', '--block-size', '64K', '--read-ahead', '0', '--cache-size', '128K', '--no-kernel-cache'],
    });
  });

  afterAll(async () => {
    await unmountAll();
    await proxy?.close();
  });

  it('reads normally through the proxy', async () => {
    const r = await readAt(`${mount.dir}/data.bin`, 0, data.length);
    expect(r.errno).toBe(0);
    expect(r.digest).toBe(sha256(data));
  });

  it('gives EIO when the server refuses connections, after retries, without hanging', async () => {
    await readAt(`${mount.dir}/data.bin`, 0, 1); // the file's attributes are cached by now
    proxy.setMode('refuse');
    const r = await readAt(`${mount.dir}/data.bin`, 5 * MiB, 64 * 1024);
    proxy.setMode('pass');
    expect(r.errno, mount.log().slice(-2500)).toBe(5);
    expect(r.seconds).toBeLessThan(30);
    expect(isAlive(mount.pid)).toBe(true);
  });

  it('gives ETIMEDOUT or EIO when the server stops answering, within attempts x timeout', async () => {
    await readAt(`${mount.dir}/data.bin`, 0, 1);
    proxy.setMode('blackhole');
    const r = await readAt(`${mount.dir}/data.bin`, 6 * MiB, 64 * 1024);
    proxy.setMode('pass');
    expect([5, 110]).toContain(r.errno);
    // 2 attempts of 2 s plus connect time and backoff: well under the 30 s a hang would take.
    expect(r.seconds).toBeLessThan(20);
    expect(isAlive(mount.pid)).toBe(true);
  });

  it('a slow but steady upload that takes longer than --request-timeout still succeeds', async () => {
    // 3 MiB at 512 KiB/s is about 6 s, three times the 2 s request timeout: only silence may fail it.
    const body = pseudoRandomBytes('slow upload', 3 * MiB);
    const script = `
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
data = sys.stdin.buffer.read()
os.write(fd, data)
try:
    os.close(fd)
    print(0)
except OSError as e:
    print(e.errno)
`;
    proxy.setMode('throttle');
    const r = await runTool('python3', ['-c', script, `${mount.dir}/slow.bin`], { input: body, timeoutMs: 120_000 });
    proxy.setMode('pass');
    expect(r.stdout.trim(), mount.log().slice(-2000)).toBe('0');
    const back = await readAt(`${mount.dir}/slow.bin`, 0, body.length);
    expect(back.digest).toBe(sha256(body));
  });

  it('reads again once the network is back', async () => {
    const r = await readAt(`${mount.dir}/data.bin`, 0, data.length);
    expect(r.errno).toBe(0);
    expect(r.digest).toBe(sha256(data));
  });
});
