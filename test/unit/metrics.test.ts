// The Prometheus side of a mount: the text format (labels escaped, histogram buckets cumulative),
// MountMetrics counting the events the binding and the S3 layer publish on their diagnostics
// channels, gauges read from the mount's status, the HTTP endpoint (GET /metrics only, bound where
// asked, a busy port refused in one line), and the --metrics value.
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { metricsOption } from '../../src/cli/mount.js';
import { UsageError } from '../../src/cli/options.js';
import type { MountStatus } from '../../src/control/status.js';
import { FUSE_OP_CHANNEL, type FuseOpEvent } from '../../src/fs/fuse/binding.js';
import { openMetrics } from '../../src/metrics/endpoint.js';
import { MountMetrics } from '../../src/metrics/mount-metrics.js';
import { Counter, Histogram, Registry } from '../../src/metrics/prometheus.js';
import { S3_REQUEST_CHANNEL, type S3RequestEvent } from '../../src/s3/s3-object-store.js';

/** The value of the sample `series` (`name{labels}`) in an exposition text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const fuse = (e: FuseOpEvent) => diagnosticsChannel.channel(FUSE_OP_CHANNEL).publish(e);
const s3 = (e: Partial<S3RequestEvent> & Pick<S3RequestEvent, 'op'>) =>
  diagnosticsChannel.channel(S3_REQUEST_CHANNEL).publish({ key: 'k', durationMs: 12, status: 200, errorCode: undefined, requestId: undefined, bytesSent: undefined, ...e });

const STATUS = {
  cache: { sizeBytes: 1024, capacityBytes: 4096, hits: 30, misses: 10, diskHits: 4 },
  spool: { dir: '/s', usedBytes: 5000, capacityBytes: 100_000 },
  openFiles: { writing: 2, reading: 3 },
  uploads: { inFlight: [{ path: '/a', sizeBytes: 10, doneBytes: 5, bytesPerSecond: 1, etaSeconds: 5 }], pending: [{ path: '/b', sizeBytes: 1, state: 'queued' }], pendingRetries: 0 },
} as unknown as MountStatus;

describe('the Prometheus text format', () => {
  it('escapes label values and writes cumulative histogram buckets with +Inf, sum and count', () => {
    const registry = new Registry();
    const counter = registry.add(new Counter('x_total', 'help'));
    counter.inc({ path: 'a"b\\c\nd' }, 2);
    const histogram = registry.add(new Histogram('t_seconds', 'time', [0.1, 1]));
    histogram.observe({ op: 'read' }, 0.05);
    histogram.observe({ op: 'read' }, 0.5);
    histogram.observe({ op: 'read' }, 5);
    const text = registry.render();
    expect(text).toContain('# TYPE x_total counter\nx_total{path="a\\"b\\\\c\\nd"} 2\n');
    expect(sample(text, 't_seconds_bucket{op="read",le="0.1"}')).toBe(1);
    expect(sample(text, 't_seconds_bucket{op="read",le="1"}')).toBe(2);
    expect(sample(text, 't_seconds_bucket{op="read",le="+Inf"}')).toBe(3);
    expect(sample(text, 't_seconds_sum{op="read"}')).toBe(5.55);
    expect(sample(text, 't_seconds_count{op="read"}')).toBe(3);
  });
});

describe('MountMetrics', () => {
  it('counts FUSE operations by op and errno, S3 requests by kind and status, and bytes, from the channels', () => {
    const metrics = new MountMetrics();
    try {
      fuse({ op: 'getattr', durationMs: 0.2, errno: undefined, bytes: undefined });
      fuse({ op: 'getattr', durationMs: 0.3, errno: 'ENOENT', bytes: undefined });
      fuse({ op: 'read', durationMs: 2, errno: undefined, bytes: 4096 });
      fuse({ op: 'write', durationMs: 1, errno: undefined, bytes: 100 });
      fuse({ op: 'write', durationMs: 1, errno: 'ENOSPC', bytes: undefined });
      s3({ op: 'PUT', bytesSent: 100 });
      s3({ op: 'PUT', status: 400, errorCode: 'InvalidArgument', bytesSent: 50 });
      s3({ op: 'GET', status: undefined, errorCode: 'Unreachable' });
      const text = metrics.render();
      expect(sample(text, 'bucketfs_fuse_operations_total{op="getattr",result="ok"}')).toBe(1);
      expect(sample(text, 'bucketfs_fuse_operations_total{op="getattr",result="ENOENT"}')).toBe(1);
      expect(sample(text, 'bucketfs_fuse_operations_total{op="write",result="ENOSPC"}')).toBe(1);
      expect(sample(text, 'bucketfs_fuse_operation_duration_seconds_count{op="getattr"}')).toBe(2);
      expect(sample(text, 'bucketfs_s3_requests_total{kind="PUT",status="200"}')).toBe(1);
      expect(sample(text, 'bucketfs_s3_requests_total{kind="PUT",status="400"}')).toBe(1);
      expect(sample(text, 'bucketfs_s3_requests_total{kind="GET",status="none"}')).toBe(1);
      expect(sample(text, 'bucketfs_s3_request_duration_seconds_bucket{kind="PUT",le="0.025"}')).toBe(2);
      expect(sample(text, 'bucketfs_read_bytes_total')).toBe(4096);
      expect(sample(text, 'bucketfs_written_bytes_total')).toBe(100);
      // Only bodies the server took.
      expect(sample(text, 'bucketfs_uploaded_bytes_total')).toBe(100);
      // No mount attached yet: no gauges.
      expect(sample(text, 'bucketfs_spool_bytes')).toBeUndefined();
    } finally {
      metrics.close();
    }
    // Closed: it hears nothing more.
    fuse({ op: 'getattr', durationMs: 0.2, errno: undefined, bytes: undefined });
    expect(sample(metrics.render(), 'bucketfs_fuse_operations_total{op="getattr",result="ok"}')).toBe(1);
  });

  it('reads the caches, open files, uploads and spool from the mount status at scrape time', () => {
    const metrics = new MountMetrics();
    try {
      metrics.attach(() => STATUS);
      const text = metrics.render();
      expect(sample(text, 'bucketfs_block_cache_hits_total')).toBe(30);
      expect(sample(text, 'bucketfs_block_cache_misses_total')).toBe(10);
      expect(sample(text, 'bucketfs_block_cache_hit_ratio')).toBe(0.75);
      expect(sample(text, 'bucketfs_disk_cache_hit_ratio')).toBe(0.4);
      expect(sample(text, 'bucketfs_open_files{mode="writing"}')).toBe(2);
      expect(sample(text, 'bucketfs_open_files{mode="reading"}')).toBe(3);
      expect(sample(text, 'bucketfs_uploads_in_flight')).toBe(1);
      expect(sample(text, 'bucketfs_uploads_queued')).toBe(1);
      expect(sample(text, 'bucketfs_spool_bytes')).toBe(5000);
    } finally {
      metrics.close();
    }
  });
});

describe('the /metrics endpoint', () => {
  it('answers GET /metrics on the address asked for, 404 elsewhere, and refuses a busy port in one line', async () => {
    const endpoint = await openMetrics({ host: '127.0.0.1', port: 0 });
    try {
      endpoint.attach(() => STATUS);
      expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const ok = await fetch(endpoint.url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(sample(await ok.text(), 'bucketfs_spool_bytes')).toBe(5000);
      expect((await fetch(endpoint.url.replace('/metrics', '/'))).status).toBe(404);
      const port = Number(new URL(endpoint.url).port);
      await expect(openMetrics({ host: '127.0.0.1', port })).rejects.toThrow(/^--metrics 127\.0\.0\.1:\d+: cannot listen there \(the port is in use\): choose another address$/);
    } finally {
      await endpoint.close();
    }
    // Closed: nothing listens any more.
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(new URL(endpoint.url).port), '127.0.0.1');
      socket.on('connect', () => resolve(socket.destroy() && false));
      socket.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('--metrics takes HOST:PORT and refuses anything else in one line', () => {
    expect(metricsOption('127.0.0.1:9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(metricsOption('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    expect(metricsOption(undefined)).toBeUndefined();
    for (const bad of ['9100', '127.0.0.1', '127.0.0.1:70000', 'http://127.0.0.1:9100']) expect(() => metricsOption(bad), bad).toThrow(UsageError);
  });
});
