// What a mount's /metrics shows: FUSE operations by op and errno and their latency, S3 requests by
// kind and status and their latency, bytes read, written and uploaded — all from the diagnostics
// channels the binding and the S3 layer publish, so no layer counts anything for us — plus gauges
// read from the mount's status at scrape time (caches, open files, uploads, spool).

import diagnosticsChannel from 'node:diagnostics_channel';
import type { MountStatus } from '../control/status.js';
import { FUSE_OP_CHANNEL, type FuseOpEvent } from '../fs/fuse/binding.js';
import { S3_REQUEST_CHANNEL, type S3RequestEvent } from '../s3/s3-object-store.js';
import { Collected, Counter, Histogram, Registry } from './prometheus.js';

/** Seconds: from a cached getattr (well under a millisecond) to a multipart upload finishing on close. */
const FUSE_BUCKETS_SECONDS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60];
/** Seconds: from a HEAD on loopback to a big part on a thin link. */
const S3_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class MountMetrics {
  readonly #registry = new Registry();
  readonly #fuseOps = this.#registry.add(new Counter('bucketfs_fuse_operations_total', 'FUSE operations answered, by operation and result (ok or the errno name)'));
  readonly #fuseSeconds = this.#registry.add(new Histogram('bucketfs_fuse_operation_duration_seconds', 'Time from a FUSE request to its answer, by operation', FUSE_BUCKETS_SECONDS));
  readonly #s3Requests = this.#registry.add(new Counter('bucketfs_s3_requests_total', 'S3 requests, by kind (GET, PUT, LIST...) and HTTP status (none: no answer)'));
  readonly #s3Seconds = this.#registry.add(new Histogram('bucketfs_s3_request_duration_seconds', 'Time of an S3 request, retries included, by kind', S3_BUCKETS_SECONDS));
  readonly #readBytes = this.#registry.add(new Counter('bucketfs_read_bytes_total', 'Bytes returned to FUSE reads'));
  readonly #writtenBytes = this.#registry.add(new Counter('bucketfs_written_bytes_total', 'Bytes taken by FUSE writes'));
  readonly #uploadedBytes = this.#registry.add(new Counter('bucketfs_uploaded_bytes_total', 'Bytes sent to S3 in PutObject and UploadPart bodies that succeeded'));
  #status: (() => MountStatus) | undefined;

  readonly #onFuseOp = (message: unknown): void => {
    const e = message as FuseOpEvent;
    this.#fuseOps.inc({ op: e.op, result: e.errno ?? 'ok' });
    this.#fuseSeconds.observe({ op: e.op }, e.durationMs / 1000);
    if (e.errno === undefined && e.bytes !== undefined) (e.op === 'read' ? this.#readBytes : this.#writtenBytes).inc({}, e.bytes);
  };

  readonly #onS3Request = (message: unknown): void => {
    const e = message as S3RequestEvent;
    this.#s3Requests.inc({ kind: e.op, status: e.status === undefined ? 'none' : String(e.status) });
    this.#s3Seconds.observe({ kind: e.op }, e.durationMs / 1000);
    if (e.errorCode === undefined && e.bytesSent !== undefined) this.#uploadedBytes.inc({}, e.bytesSent);
  };

  constructor() {
    // Counters start at zero for every series a dashboard plots before the first event.
    this.#readBytes.inc({}, 0);
    this.#writtenBytes.inc({}, 0);
    this.#uploadedBytes.inc({}, 0);
    const gauge = (name: string, help: string, read: (s: MountStatus) => number) =>
      this.#registry.add(new Collected(name, help, 'gauge', () => (this.#status ? [{ value: read(this.#status()) }] : [])));
    const counted = (name: string, help: string, read: (s: MountStatus) => number) =>
      this.#registry.add(new Collected(name, help, 'counter', () => (this.#status ? [{ value: read(this.#status()) }] : [])));
    counted('bucketfs_block_cache_hits_total', 'Block reads served from the memory cache', (s) => s.cache.hits);
    counted('bucketfs_block_cache_misses_total', 'Block reads the memory cache did not hold (served by the disk cache or S3)', (s) => s.cache.misses);
    counted('bucketfs_disk_cache_hits_total', 'Memory-cache misses served by the disk cache (--cache-dir)', (s) => s.cache.diskHits ?? 0);
    gauge('bucketfs_block_cache_hit_ratio', 'Share of block reads served from memory since the mount started (0 before any read)', (s) => ratio(s.cache.hits, s.cache.hits + s.cache.misses));
    gauge('bucketfs_disk_cache_hit_ratio', 'Share of memory-cache misses served by the disk cache (0 without --cache-dir or before any miss)', (s) => ratio(s.cache.diskHits ?? 0, s.cache.misses));
    gauge('bucketfs_block_cache_bytes', 'Bytes held by the memory block cache', (s) => s.cache.sizeBytes);
    this.#registry.add(
      new Collected('bucketfs_open_files', 'Open files, by mode (writing: open for writing or holding unsaved data; reading: reader handles)', 'gauge', () => {
        if (!this.#status) return [];
        const s = this.#status();
        return [
          { labels: { mode: 'writing' }, value: s.openFiles.writing },
          { labels: { mode: 'reading' }, value: s.openFiles.reading },
        ];
      }),
    );
    gauge('bucketfs_uploads_in_flight', 'Files being uploaded now', (s) => s.uploads.inFlight.length);
    gauge('bucketfs_uploads_queued', 'Files waiting for an upload slot or a retry', (s) => s.uploads.pending.filter((p) => p.state !== 'writing').length);
    gauge('bucketfs_spool_bytes', 'Bytes in the local spool (written, not yet in the bucket, or kept for open files)', (s) => s.spool.usedBytes);
    gauge('bucketfs_spool_capacity_bytes', 'Spool capacity (--spool-size)', (s) => s.spool.capacityBytes);
    diagnosticsChannel.subscribe(FUSE_OP_CHANNEL, this.#onFuseOp);
    diagnosticsChannel.subscribe(S3_REQUEST_CHANNEL, this.#onS3Request);
  }

  /** The mount whose status the gauges read (they are left out until then). */
  attach(status: () => MountStatus): void {
    this.#status = status;
  }

  render(): string {
    return this.#registry.render();
  }

  close(): void {
    diagnosticsChannel.unsubscribe(FUSE_OP_CHANNEL, this.#onFuseOp);
    diagnosticsChannel.unsubscribe(S3_REQUEST_CHANNEL, this.#onS3Request);
  }
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
