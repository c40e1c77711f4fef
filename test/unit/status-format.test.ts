// How `bucketfs status` and `bucketfs sync` render for people: aligned labels, sizes in binary units,
// progress bars, rates and ETAs (the JSON form is the data itself).

import { describe, expect, it } from 'vitest';
import { type MountStatus, formatBytes, formatDuration, formatStatus, formatSyncProgress, progressBar } from '../../src/control/status.js';

const MiB = 1024 * 1024;

const status: MountStatus = {
  mountpoint: '/mnt/b',
  pid: 42,
  bucket: 'b',
  prefix: 'p/',
  endpoint: 'http://127.0.0.1:9000',
  startedAt: '2026-12-02T00:00:00.000Z',
  uptimeSeconds: 3_725,
  writeBack: false,
  readOnly: false,
  cache: { sizeBytes: 3 * MiB, capacityBytes: 256 * MiB, hits: 3, misses: 1 },
  spool: { dir: '/spool/b-1/mount-x', usedBytes: 10 * MiB, capacityBytes: 64 * 1024 * MiB },
  openFiles: { writing: 1, reading: 2 },
  uploads: {
    inFlight: [{ path: '/big.bin', sizeBytes: 20 * MiB, doneBytes: 5 * MiB, bytesPerSecond: MiB, etaSeconds: 15 }],
    pending: [{ path: '/next.bin', sizeBytes: 1536, state: 'queued' }],
    pendingRetries: 0,
  },
  s3: { requests: 10, failed: 1 },
  errors: { count: 1, last: 'upload of x failed', lastAt: '2026-12-02T01:00:00.000Z' },
};

describe('status text', () => {
  it('aligns the labels and lists each upload with its bar, bytes, rate and ETA', () => {
    expect(formatStatus(status).split('\n')).toEqual([
      '/mnt/b',
      '  bucket      s3://b/p/ at http://127.0.0.1:9000',
      '  daemon      pid 42, up 1h2m5s, upload before close',
      '  cache       3.0 MiB of 256.0 MiB, 3 hits, 1 misses (75.0% hits)',
      '  spool       10.0 MiB of 64.0 GiB in /spool/b-1/mount-x',
      '  open files  1 writing, 2 reading',
      '  uploads     1 in flight, 1 queued, 0 pending retries',
      '  requests    10 to S3, 1 failed',
      '  errors      1, last at 2026-12-02T01:00:00.000Z: upload of x failed',
      '    [#####---------------]  25%  5.0 MiB / 20.0 MiB  1.0 MiB/s  ETA 15s  /big.bin',
      '    queued      1.5 KiB  /next.bin',
    ]);
  });

  it('a rate not known yet shows as -', () => {
    const starting = { ...status, uploads: { ...status.uploads, inFlight: [{ path: '/a', sizeBytes: 10, doneBytes: 0, bytesPerSecond: 0, etaSeconds: null }] } };
    expect(formatStatus(starting)).toContain('[--------------------]   0%  0 B / 10 B  -  ETA -  /a');
  });
});

describe('sync progress and units', () => {
  it('one line: bar, percent, bytes, files left, rate, ETA', () => {
    expect(formatSyncProgress({ files: 2, doneBytes: 3 * MiB, totalBytes: 4 * MiB, bytesPerSecond: MiB })).toBe(
      '[###############-----]  75%  3.0 MiB / 4.0 MiB  2 files left  1.0 MiB/s  ETA 1s',
    );
    expect(formatSyncProgress({ files: 0, doneBytes: 0, totalBytes: 0, bytesPerSecond: 0 })).toBe('[####################] 100%  0 B / 0 B  0 files left');
  });

  it('formats bytes, durations and bars', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1024), formatBytes(5 * 1024 * MiB)]).toEqual(['0 B', '1023 B', '1.0 KiB', '5.0 GiB']);
    expect([formatDuration(0), formatDuration(59.6), formatDuration(3600), formatDuration(90_061)]).toEqual(['0s', '1m0s', '1h0m0s', '1d1h1m1s']);
    expect(progressBar(1, 2, 4)).toBe('[##--]');
  });
});
