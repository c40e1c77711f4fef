// What `bucketfs status` and `bucketfs sync` exchange with a daemon, and how a person reads it: the
// JSON shapes (stable: scripts read them with --json) and their aligned text rendering. Pure data
// and string formatting; the daemon fills these in (run.ts), the client prints them (commands.ts).

export interface UploadStatus {
  readonly path: string;
  readonly sizeBytes: number;
  readonly doneBytes: number;
  /** Since this upload started; 0 until its first part is done. */
  readonly bytesPerSecond: number;
  /** Seconds left at that rate; null while the rate is unknown. */
  readonly etaSeconds: number | null;
}

export interface PendingStatus {
  readonly path: string;
  readonly sizeBytes: number;
  /** writing: open, changed, not closed yet; queued: waits for an upload slot; retrying: its upload failed and waits for the next try. */
  readonly state: 'writing' | 'queued' | 'retrying';
}

/** One bucket of a mount of every bucket: its spool folder and what it has open. */
export interface BucketStatus {
  readonly bucket: string;
  readonly spool: { readonly dir: string; readonly usedBytes: number; readonly capacityBytes: number };
  readonly openFiles: { readonly writing: number; readonly reading: number };
  /** Counts; the uploads themselves are in the mount's list, their paths starting with /BUCKET/. */
  readonly uploads: { readonly inFlight: number; readonly pending: number; readonly pendingRetries: number };
}

export interface MountStatus {
  readonly mountpoint: string;
  readonly pid: number;
  /** The bucket, or '*' for a mount of every bucket. */
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
  /** The endpoint URL, or 'AWS S3'. */
  readonly endpoint: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly writeBack: boolean;
  readonly readOnly: boolean;
  /** diskHits: misses the disk cache (--cache-dir) served; absent from daemons before it was reported. */
  readonly cache: { readonly sizeBytes: number; readonly capacityBytes: number; readonly hits: number; readonly misses: number; readonly diskHits?: number };
  readonly spool: { readonly dir: string; readonly usedBytes: number; readonly capacityBytes: number };
  /** Files open for writing (or holding unsaved data) and reader handles. */
  readonly openFiles: { readonly writing: number; readonly reading: number };
  readonly uploads: { readonly inFlight: readonly UploadStatus[]; readonly pending: readonly PendingStatus[]; readonly pendingRetries: number };
  readonly s3: { readonly requests: number; readonly failed: number };
  readonly errors: { readonly count: number; readonly last: string | undefined; readonly lastAt: string | undefined };
  /**
   * A mount of every bucket: each bucket it has opened so far (the others hold nothing). `spool`
   * above then sums them, below the spool root; its capacity is each bucket's.
   */
  readonly buckets?: readonly BucketStatus[];
}

/** A tick of `bucketfs sync`. */
export interface SyncProgress {
  /** Files not in the bucket yet. */
  readonly files: number;
  readonly doneBytes: number;
  readonly totalBytes: number;
  readonly bytesPerSecond: number;
}

export interface SyncOutcome {
  readonly failed: readonly { readonly path: string; readonly error: string }[];
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d > 0) parts.push(`${d}d`);
  if (h > 0 || d > 0) parts.push(`${h}h`);
  if (m > 0 || h > 0 || d > 0) parts.push(`${m}m`);
  parts.push(`${s % 60}s`);
  return parts.join('');
}

/** `[#######-------------]` for done/total. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total <= 0 ? width : Math.min(width, Math.floor((done / total) * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

function percent(done: number, total: number): string {
  return `${total <= 0 ? 100 : Math.floor((done / total) * 100)}%`.padStart(4);
}

export function uploadLine(u: UploadStatus): string {
  const rate = u.bytesPerSecond > 0 ? `${formatBytes(u.bytesPerSecond)}/s` : '-';
  const eta = u.etaSeconds === null ? 'ETA -' : `ETA ${formatDuration(u.etaSeconds)}`;
  return `${progressBar(u.doneBytes, u.sizeBytes)} ${percent(u.doneBytes, u.sizeBytes)}  ${formatBytes(u.doneBytes)} / ${formatBytes(u.sizeBytes)}  ${rate}  ${eta}  ${u.path}`;
}

/** One bucket's line under a mount of every bucket. */
function bucketLine(b: BucketStatus): string {
  const { openFiles: files, uploads } = b;
  return (
    `${files.writing} writing, ${files.reading} reading, ${uploads.inFlight} uploading, ${uploads.pending} pending, ` +
    `${uploads.pendingRetries} pending retries; spool ${formatBytes(b.spool.usedBytes)} in ${b.spool.dir}`
  );
}

/** The text `bucketfs status` prints for one mount. */
export function formatStatus(s: MountStatus): string {
  const rows: [string, string][] = [];
  const where = s.buckets ? `every bucket at ${s.endpoint}` : `s3://${s.bucket}/${s.prefix} at ${s.endpoint}`;
  rows.push([s.buckets ? 'buckets' : 'bucket', where]);
  const mode = s.readOnly ? 'read-only' : s.writeBack ? 'write-back (close returns once the data is in the local spool)' : 'upload before close';
  rows.push(['daemon', `pid ${s.pid}, up ${formatDuration(s.uptimeSeconds)}, ${mode}`]);
  const lookups = s.cache.hits + s.cache.misses;
  const rate = lookups === 0 ? '' : ` (${((s.cache.hits / lookups) * 100).toFixed(1)}% hits)`;
  rows.push(['cache', `${formatBytes(s.cache.sizeBytes)} of ${formatBytes(s.cache.capacityBytes)}, ${s.cache.hits} hits, ${s.cache.misses} misses${rate}`]);
  if (s.buckets) {
    const folders = `${s.buckets.length} bucket folder${s.buckets.length === 1 ? '' : 's'}`;
    rows.push(['spool', `${formatBytes(s.spool.usedBytes)} in ${folders} below ${s.spool.dir} (each up to ${formatBytes(s.spool.capacityBytes)})`]);
  } else {
    rows.push(['spool', `${formatBytes(s.spool.usedBytes)} of ${formatBytes(s.spool.capacityBytes)} in ${s.spool.dir}`]);
  }
  rows.push(['open files', `${s.openFiles.writing} writing, ${s.openFiles.reading} reading`]);
  const queued = s.uploads.pending.filter((p) => p.state === 'queued').length;
  rows.push(['uploads', `${s.uploads.inFlight.length} in flight, ${queued} queued, ${s.uploads.pendingRetries} pending retries`]);
  rows.push(['requests', `${s.s3.requests} to S3, ${s.s3.failed} failed`]);
  rows.push(['errors', s.errors.count === 0 ? '0' : `${s.errors.count}, last at ${s.errors.lastAt ?? '?'}: ${s.errors.last ?? ''}`]);
  // A mount of every bucket: a row per bucket in use (the others hold nothing).
  for (const b of s.buckets ?? []) rows.push([`in ${b.bucket}`, bucketLine(b)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [s.mountpoint, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
  for (const u of s.uploads.inFlight) lines.push(`    ${uploadLine(u)}`);
  for (const p of s.uploads.pending) lines.push(`    ${p.state.padEnd(8)} ${formatBytes(p.sizeBytes).padStart(10)}  ${p.path}`);
  return lines.join('\n');
}

/** One line of `bucketfs sync` progress on a terminal. */
export function formatSyncProgress(p: SyncProgress): string {
  const rate = p.bytesPerSecond > 0 ? `  ${formatBytes(p.bytesPerSecond)}/s` : '';
  const left = p.totalBytes - p.doneBytes;
  const eta = p.bytesPerSecond > 0 && left > 0 ? `  ETA ${formatDuration(left / p.bytesPerSecond)}` : '';
  return `${progressBar(p.doneBytes, p.totalBytes)} ${percent(p.doneBytes, p.totalBytes)}  ${formatBytes(p.doneBytes)} / ${formatBytes(p.totalBytes)}  ${p.files} file${p.files === 1 ? '' : 's'} left${rate}${eta}`;
}
