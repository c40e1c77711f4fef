// What the harness tells a worker process (one JSON argument) and what the worker answers (one JSON
// line per finished measurement on stdout). Times are epoch milliseconds with sub-ms precision, so
// the harness can extend a measurement until the SDK sees a write in the bucket.

import type { S3ServerKind } from '../test/support/s3-server.js';
import type { Scale } from './scale.js';
import type { WorkloadId } from './workloads.js';

export type WorkerTarget =
  /** A mounted filesystem: the worker acts as a user's program on `root`. */
  | { readonly kind: 'fs'; readonly root: string }
  /** The direct-SDK bound; credentials come in the environment, never argv. */
  | { readonly kind: 'sdk'; readonly server: S3ServerKind; readonly endpoint: string; readonly bucket: string; readonly region: string };

export interface WorkerSpec {
  readonly workload: WorkloadId;
  readonly scale: Scale;
  /** Distinguishes the names one run writes (see LAYOUT.runPath). */
  readonly tag: string;
  readonly target: WorkerTarget;
  /** The generated tarball (mounted untar) and its extracted copy with its file list (SDK untar). */
  readonly tarball: string;
  readonly tarTree: string;
  readonly tarManifest: string;
}

export interface MetricEvent {
  readonly type: 'metric';
  readonly metric: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Bytes for MiB/s, operations for IOPS, 0 for plain times. */
  readonly amount: number;
}

/** Epoch milliseconds with sub-millisecond precision, comparable between processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The event for a measurement that started at `startMs` and ends now. */
export function metric(name: string, startMs: number, amount = 0): MetricEvent {
  return { type: 'metric', metric: name, startMs, endMs: nowMs(), amount };
}

export function parseMetricEvent(line: string): MetricEvent | undefined {
  try {
    const value = JSON.parse(line) as Partial<MetricEvent>;
    if (value.type !== 'metric' || typeof value.metric !== 'string') return undefined;
    if (typeof value.startMs !== 'number' || typeof value.endMs !== 'number' || typeof value.amount !== 'number') return undefined;
    return value as MetricEvent;
  } catch {
    return undefined;
  }
}

/** One entry of the tarball's file list, in the order tar extracts it. */
export interface TarEntry {
  readonly path: string;
  readonly sizeBytes: number;
}
