// Observability of a real mount: the Prometheus endpoint (--metrics) scraped with a real HTTP GET
// after some work, its counts checked against what was done; JSON log lines (--log-format json) with
// the fields of each S3 request; SIGUSR2 raising the level to debug and a second one lowering it
// back, each logged in one line; --log-level warn keeping info lines out.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { putObject } from '../support/fixtures.js';
import { mountBucket, unmountAll, waitFor } from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const server = s3Server();
const client = makeClient(server);

afterAll(async () => {
  await unmountAll();
  client.destroy();
});

/** The value of the sample `series` in an exposition text (0 when absent, as Prometheus reads it). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

interface JsonLine {
  ts: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

function jsonLines(log: string): JsonLine[] {
  return log
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonLine);
}

describe('--metrics', () => {
  it('serves /metrics over HTTP with FUSE operations, S3 requests by kind and status, bytes and latencies that match the work done', async () => {
    const bucket = await newBucket('metrics');
    const sizes = { 'r1.bin': 1000, 'r2.bin': 70_000 };
    for (const [name, size] of Object.entries(sizes)) await putObject(client, bucket, name, Buffer.alloc(size, 7));
    const session = await mountBucket({ bucket, s3: server, extraArgs: ['--metrics', '127.0.0.1:0'] });
    try {
      let url = '';
      expect(await waitFor(() => Boolean((url = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(session.log())?.[1] ?? '')), 10_000)).toBe(true);
      const before = await (await fetch(url)).text();
      expect(sample(before, 'bucketfs_s3_requests_total{kind="CHECK",status="200"}')).toBe(1);

      const written = { 'a.txt': 1000, 'b.txt': 2000, 'c.txt': 3000 };
      for (const [name, size] of Object.entries(written)) await fsp.writeFile(path.join(session.dir, name), Buffer.alloc(size, 1));
      for (const name of Object.keys(sizes)) expect((await fsp.readFile(path.join(session.dir, name))).length).toBe(sizes[name as keyof typeof sizes]);
      await expect(fsp.stat(path.join(session.dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });

      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      expect(sample(text, 'bucketfs_s3_requests_total{kind="PUT",status="200"}')).toBe(3);
      expect(sample(text, 'bucketfs_s3_request_duration_seconds_count{kind="PUT"}')).toBe(3);
      expect(sample(text, 'bucketfs_uploaded_bytes_total')).toBe(6000);
      expect(sample(text, 'bucketfs_written_bytes_total')).toBe(6000);
      expect(sample(text, 'bucketfs_read_bytes_total')).toBe(71_000);
      expect(sample(text, 'bucketfs_fuse_operations_total{op="create",result="ok"}')).toBe(3);
      expect(sample(text, 'bucketfs_fuse_operations_total{op="getattr",result="ENOENT"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'bucketfs_fuse_operation_duration_seconds_count{op="create"}')).toBe(3);
      expect(sample(text, 'bucketfs_s3_requests_total{kind="GET",status="206"}')).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'bucketfs_block_cache_misses_total')).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'bucketfs_open_files{mode="writing"}')).toBe(0);
      expect(sample(text, 'bucketfs_uploads_in_flight')).toBe(0);
      expect(text).toMatch(/^bucketfs_spool_bytes \d+$/m);
      expect((await fetch(url.replace(/\/metrics$/, '/other'))).status).toBe(404);
    } finally {
      await session.unmount();
    }
  });
});

describe('logging', () => {
  it('--log-format json: one object per line; SIGUSR2 turns on debug (S3 requests with their fields) and a second SIGUSR2 turns it off', async () => {
    const bucket = await newBucket('log-json');
    await putObject(client, bucket, 'one.txt', 'one\n');
    const session = await mountBucket({ bucket, s3: server, extraArgs: ['--log-format', 'json'] });
    try {
      const s3Lines = () => jsonLines(session.log()).filter((l) => l.level === 'debug' && typeof l.op === 'string');
      expect(await waitFor(() => jsonLines(session.log()).some((l) => l.msg.startsWith('mounted ')), 10_000)).toBe(true);
      for (const line of jsonLines(session.log())) {
        expect(Object.keys(line).slice(0, 3)).toEqual(['ts', 'level', 'msg']);
        expect(new Date(line.ts).toISOString()).toBe(line.ts);
      }
      await fsp.stat(path.join(session.dir, 'one.txt'));
      expect(s3Lines()).toEqual([]);

      process.kill(session.pid, 'SIGUSR2');
      expect(await waitFor(() => session.log().includes('received SIGUSR2'), 10_000)).toBe(true);
      expect(jsonLines(session.log()).find((l) => l.msg.startsWith('received SIGUSR2'))).toMatchObject({
        level: 'info',
        msg: 'received SIGUSR2: log level info → debug (SIGUSR2 again goes back to info)',
        from: 'info',
        to: 'debug',
      });
      await fsp.readFile(path.join(session.dir, 'one.txt'));
      expect(await waitFor(() => s3Lines().some((l) => l.op === 'GET'), 10_000)).toBe(true);
      expect(s3Lines().find((l) => l.op === 'GET')).toMatchObject({ level: 'debug', bucket, key: 'one.txt', status: 206, durationMs: expect.any(Number) });

      process.kill(session.pid, 'SIGUSR2');
      expect(await waitFor(() => jsonLines(session.log()).some((l) => l.msg.startsWith('received SIGUSR2: log level debug → info')), 10_000)).toBe(true);
      const seen = s3Lines().length;
      await fsp.stat(path.join(session.dir, 'other.txt')).catch(() => undefined);
      await fsp.writeFile(path.join(session.dir, 'two.txt'), 'two\n');
      expect(s3Lines()).toHaveLength(seen);
    } finally {
      await session.unmount();
    }
  });

  it('--log-level warn leaves info lines out; --debug with another level is refused', async () => {
    const bucket = await newBucket('log-warn');
    const session = await mountBucket({ bucket, s3: server, extraArgs: ['--log-level', 'warn'] });
    try {
      await fsp.writeFile(path.join(session.dir, 'x.txt'), 'x\n');
    } finally {
      await session.unmount();
    }
    expect(session.log()).not.toMatch(/ INFO /);
    await expect(mountBucket({ bucket, s3: server, extraArgs: ['--debug', '--log-level', 'warn'], mountTimeoutMs: 10_000 })).rejects.toThrow(/--debug means --log-level debug, not warn: give one of them/);
  });
});
