// One run of one workload on one system: prepare its data, mount fresh (cold), run the worker
// under the per-workload bound, wait until a write is in the bucket, sample the daemon, count
// bucketfs's S3 requests from its --debug log, then unmount and delete what the run wrote.
// Every step is bounded; whatever happens, the mount, the worker and the run's data are gone after.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3ServerHandle } from '../test/support/s3-server.js';
import { removeDirSafely, type Cleanup } from './cleanup.js';
import { cleanRun, missingFromBucket, prepareRun } from './dataset.js';
import { sampleProcess, type ProcessSample } from './process-stats.js';
import type { ResourceSample } from './report.js';
import { countRequests, type RequestCounts } from './requests.js';
import type { Scale } from './scale.js';
import type { Outcome } from './stats.js';
import { mountSystem, withoutAwsSettings, type MountedSystem, type SystemId } from './systems.js';
import { nowMs, parseMetricEvent, type MetricEvent, type TarEntry, type WorkerSpec } from './worker-protocol.js';
import type { WorkloadDef } from './workloads.js';

const WORKER_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const SETUP_TIMEOUT_MS = 600_000;
const VERIFY_EVERY_MS = 100;

/** What stays the same for every run at one server and latency. */
export interface RunContext {
  readonly cleanup: Cleanup;
  readonly runDir: string;
  readonly server: S3ServerHandle;
  /** The server itself, or the delaying proxy in front of it. */
  readonly endpoint: string;
  readonly latencyMs: number;
  readonly bucket: string;
  /** A client straight to the server, for setup and checks (never delayed). */
  readonly direct: S3Client;
  readonly scale: Scale;
  readonly timeoutSeconds: number;
  readonly tar: { readonly tarball: string; readonly tree: string; readonly manifest: string; readonly entries: readonly TarEntry[] };
  /** Makes the server give back the space of deleted objects (see servers.ts). */
  readonly reclaim: () => Promise<string | undefined>;
}

export interface RunResult {
  readonly outcomes: ReadonlyMap<string, Outcome>;
  readonly resources: ResourceSample | undefined;
  /** bucketfs with --debug only: its S3 requests during each metric. */
  readonly requests: ReadonlyMap<string, RequestCounts> | undefined;
}

/** Bounds a setup or teardown step, so no step of the harness can hang it. */
export async function bounded<T>(label: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${label} did not finish in ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface WorkerOutcome {
  readonly events: readonly MetricEvent[];
  /** Log size (for request counts) when each event arrived. */
  readonly logOffsets: readonly number[];
  readonly ending: { readonly kind: 'done' } | { readonly kind: 'timeout' } | { readonly kind: 'failed'; readonly reason: string };
}

function fileSize(file: string | undefined): number {
  if (file === undefined) return 0;
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Runs the worker in its own process group, killed with its tools once it has reported nothing for
 * `timeoutMs`: each measurement of a workload (cold, then warm) gets the whole bound.
 */
function runWorker(
  spec: WorkerSpec,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  logFile: string | undefined,
  runDir: string,
  cleanup: Cleanup,
): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    // The run dir as a last argument marks the worker as this run's, for the reaper of dead runs.
    const child = spawn(process.execPath, [WORKER_JS, JSON.stringify(spec), runDir], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    const events: MetricEvent[] = [];
    const logOffsets: number[] = [];
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const killGroup = async (): Promise<void> => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const forget = cleanup.add(`kill worker ${child.pid}`, killGroup);
    const expire = (): void => {
      timedOut = true;
      void killGroup();
    };
    let timer = setTimeout(expire, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      let newline: number;
      while ((newline = stdout.indexOf('\n')) >= 0) {
        const event = parseMetricEvent(stdout.slice(0, newline));
        stdout = stdout.slice(newline + 1);
        if (event !== undefined) {
          events.push(event);
          logOffsets.push(fileSize(logFile));
          clearTimeout(timer);
          timer = setTimeout(expire, timeoutMs);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    const finish = (ending: WorkerOutcome['ending']): void => {
      clearTimeout(timer);
      void forget();
      resolve({ events, logOffsets, ending });
    };
    child.once('error', (e) => finish({ kind: 'failed', reason: `worker did not start: ${e.message}` }));
    child.once('close', (code, signal) => {
      if (timedOut) finish({ kind: 'timeout' });
      else if (code === 0) finish({ kind: 'done' });
      else finish({ kind: 'failed', reason: stderr.trim().split('\n').slice(-2).join(' ') || `worker exited with ${code ?? signal}` });
    });
  });
}

function valueOf(unit: WorkloadDef['metrics'][number]['unit'], event: MetricEvent, endMs: number): number {
  const seconds = Math.max(endMs - event.startMs, 0.001) / 1000;
  if (unit === 's') return seconds;
  if (unit === 'MiB/s') return event.amount / MiB / seconds;
  return event.amount / seconds;
}

/** One outcome per metric: its value, or why not (the first missing one says why, later ones are skipped). */
function outcomesOf(def: WorkloadDef, worker: WorkerOutcome, timeoutSeconds: number): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  let ended = false;
  for (const metric of def.metrics) {
    const event = worker.events.find((e) => e.metric === metric.id);
    if (event !== undefined) {
      outcomes.set(metric.id, { kind: 'ok', value: valueOf(metric.unit, event, event.endMs) });
    } else if (!ended) {
      ended = true;
      const { ending } = worker;
      outcomes.set(
        metric.id,
        ending.kind === 'timeout'
          ? { kind: 'timeout', afterSeconds: timeoutSeconds }
          : { kind: 'failed', reason: ending.kind === 'failed' ? ending.reason : 'the worker reported nothing' },
      );
    } else {
      outcomes.set(metric.id, { kind: 'skipped', reason: 'the step before it did not finish' });
    }
  }
  return outcomes;
}

/**
 * Polls the bucket (straight to the server) until the run's write is all there. Seen at the first
 * poll: the tool's own end time stands; later: the start of the poll that saw it.
 */
async function waitForBucket(
  ctx: RunContext,
  def: WorkloadDef,
  tag: string,
  lastEvent: MetricEvent,
  deadlineMs: number,
): Promise<{ kind: 'seen'; atMs: number } | { kind: 'missing'; missing: string }> {
  let missing = 'not checked';
  for (let first = true; nowMs() < deadlineMs; first = false) {
    const pollStart = nowMs();
    try {
      const check = missingFromBucket(ctx.direct, ctx.bucket, ctx.scale, def.id, tag, ctx.tar.entries);
      const answer = await bounded('checking the bucket', Math.max(1, deadlineMs - pollStart), check);
      if (answer === undefined) return { kind: 'seen', atMs: first ? lastEvent.endMs : pollStart };
      missing = answer;
    } catch (e) {
      missing = `the check failed: ${(e as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, VERIFY_EVERY_MS));
  }
  return { kind: 'missing', missing };
}

/** The daemon's peak RSS so far, and its CPU per GiB moved when the run moved bulk data. */
function sampleResources(
  def: WorkloadDef,
  pid: number,
  before: ProcessSample | undefined,
  events: readonly MetricEvent[],
  outcomes: ReadonlyMap<string, Outcome>,
): ResourceSample | undefined {
  const after = sampleProcess(pid);
  if (after === undefined) return undefined;
  const bulk = def.metrics.find((m) => m.unit === 'MiB/s');
  const event = events.find((e) => e.metric === bulk?.id);
  const moved = bulk !== undefined && outcomes.get(bulk.id)?.kind === 'ok' && before !== undefined && event !== undefined;
  return {
    metric: def.metrics[0]?.id ?? def.id,
    peakRssBytes: after.peakRssBytes,
    cpuSecondsPerGiB: moved ? (after.cpuSeconds - before.cpuSeconds) / (event.amount / GiB) : undefined,
  };
}

/** bucketfs's S3 requests per metric: the --debug log between the offsets where each metric ended. */
function splitRequestCounts(
  def: WorkloadDef,
  logFile: string,
  logStart: number,
  offsets: readonly number[],
  logEnd: number,
): Map<string, RequestCounts> {
  const log = fs.readFileSync(logFile);
  const counts = new Map<string, RequestCounts>();
  let from = logStart;
  def.metrics.forEach((metric, i) => {
    const to = i === def.metrics.length - 1 ? logEnd : (offsets[i] ?? logEnd);
    counts.set(metric.id, countRequests(log.subarray(from, to).toString('utf8')));
    from = to;
  });
  return counts;
}

export async function runOnce(ctx: RunContext, system: SystemId, def: WorkloadDef, tag: string, debug: boolean): Promise<RunResult> {
  const { scale, bucket, direct } = ctx;
  const timeoutMs = ctx.timeoutSeconds * 1000;
  const failAll = (reason: string): RunResult => ({
    outcomes: new Map(def.metrics.map((m, i) => [m.id, i === 0 ? { kind: 'failed', reason } : { kind: 'skipped', reason: 'an earlier step failed' }] as const)),
    resources: undefined,
    requests: undefined,
  });
  const workDir = path.join(ctx.runDir, `${tag}-${def.id}`);
  fs.mkdirSync(workDir, { recursive: true });
  let mounted: MountedSystem | undefined;
  try {
    await bounded(`preparing ${def.id}`, SETUP_TIMEOUT_MS, prepareRun(direct, bucket, scale, def.id, tag));
    if (system !== 'sdk') {
      try {
        mounted = await mountSystem(system, { server: ctx.server, endpoint: ctx.endpoint, bucket, workDir, debug }, ctx.cleanup);
      } catch (e) {
        return failAll((e as Error).message);
      }
    }
    const target: WorkerSpec['target'] =
      mounted !== undefined
        ? { kind: 'fs', root: mounted.dir }
        : { kind: 'sdk', server: ctx.server.kind, endpoint: ctx.endpoint, bucket, region: ctx.server.region };
    const spec: WorkerSpec = { workload: def.id, scale, tag, target, tarball: ctx.tar.tarball, tarTree: ctx.tar.tree, tarManifest: ctx.tar.manifest };
    const env = {
      ...withoutAwsSettings(process.env),
      AWS_ACCESS_KEY_ID: ctx.server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ctx.server.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const before = mounted !== undefined ? sampleProcess(mounted.pid) : undefined;
    const logStart = fileSize(mounted?.logFile);
    const worker = await runWorker(spec, env, timeoutMs, debug ? mounted?.logFile : undefined, ctx.runDir, ctx.cleanup);

    const outcomes = outcomesOf(def, worker, ctx.timeoutSeconds);

    // A write counts until the SDK sees it in the bucket.
    const last = def.metrics[def.metrics.length - 1];
    const lastEvent = worker.events.find((e) => e.metric === last?.id);
    if (def.durable && last !== undefined && lastEvent !== undefined) {
      // The bound covers the tool and the wait for the bucket together.
      const seen = await waitForBucket(ctx, def, tag, lastEvent, lastEvent.startMs + timeoutMs);
      if (seen.kind === 'seen') outcomes.set(last.id, { kind: 'ok', value: valueOf(last.unit, lastEvent, seen.atMs) });
      else {
        process.stderr.write(`  ${system} ${def.id}: after ${ctx.timeoutSeconds} s ${seen.missing}\n`);
        outcomes.set(last.id, { kind: 'timeout', afterSeconds: ctx.timeoutSeconds });
      }
    }
    const logEnd = fileSize(mounted?.logFile);

    const resources = mounted !== undefined && !debug ? sampleResources(def, mounted.pid, before, worker.events, outcomes) : undefined;
    const requests = debug && mounted !== undefined ? splitRequestCounts(def, mounted.logFile, logStart, worker.logOffsets, logEnd) : undefined;
    return { outcomes, resources, requests };
  } finally {
    try {
      if (mounted !== undefined) await mounted.unmount();
      removeDirSafely(workDir);
    } finally {
      if (await bounded(`deleting what ${def.id} wrote`, SETUP_TIMEOUT_MS, cleanRun(direct, bucket, def.id, tag))) {
        const problem = await ctx.reclaim();
        if (problem !== undefined) process.stderr.write(`  ${problem}\n`);
      }
    }
  }
}
