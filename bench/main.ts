// `npm run bench`: installs what the selected systems need, then for each S3 server and added
// latency runs every selected workload on every selected system (runs interleaved across
// systems), prints the Markdown tables and writes them into BENCHMARKS.md. Whatever happens —
// success, a failure, Ctrl-C — every mount, daemon, worker, proxy, server and temp dir it started
// is gone when it exits.

import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../test/support/mount-session.js';
import { createBucket, type S3ServerKind } from '../test/support/s3-server.js';
import { BENCH_TMP, Cleanup, cleanOnSignals, reapStaleRuns, removeDirSafely, removeEmptyStateDirs } from './cleanup.js';
import { makeTarball, populate } from './dataset.js';
import { describeMachine, ensureTools, loadAverage } from './machine.js';
import { parseOptions, UsageError, type BenchOptions } from './options.js';
import { startDelayProxy } from './proxy.js';
import { ConfigResult, renderPreamble, renderSection, writeSection } from './report.js';
import { bounded, runOnce, type RunContext } from './run-once.js';
import { benchClient } from './sdk-client.js';
import { startBenchServer } from './servers.js';
import { medianOutcome, type Outcome } from './stats.js';
import { SYSTEM_LABELS, type SystemId } from './systems.js';
import { workloadDefs, type WorkloadDef } from './workloads.js';

const BUCKET = 'bench';
const POPULATE_TIMEOUT_MS = 30 * 60_000;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function describe(outcome: Outcome, unit: string): string {
  switch (outcome.kind) {
    case 'ok':
      return `${outcome.value.toFixed(unit === 's' ? 3 : 1)} ${unit}`;
    case 'timeout':
      return `timeout after ${outcome.afterSeconds} s`;
    default:
      return `${outcome.kind}: ${outcome.reason}`;
  }
}

/** Every run of one workload at one server and latency, systems alternating within each run. */
async function measureWorkload(ctx: RunContext, options: BenchOptions, def: WorkloadDef, result: ConfigResult): Promise<void> {
  const where = `[${ctx.server.kind} ${ctx.latencyMs} ms]`;
  const stopped = new Set<SystemId>();
  for (let run = 1; run <= options.runs; run++) {
    for (const system of options.systems) {
      if (ctx.cleanup.closing) throw new Error('interrupted');
      if (stopped.has(system)) continue;
      const tag = `${system}-${ctx.latencyMs}-${run}`;
      const { outcomes, resources } = await runOnce(ctx, system, def, tag, false);
      for (const metric of def.metrics) {
        const outcome = outcomes.get(metric.id);
        if (outcome === undefined) continue;
        result.addOutcome(metric.id, system, outcome);
        log(`${where} ${metric.id} run ${run}/${options.runs} ${SYSTEM_LABELS[system]}: ${describe(outcome, metric.unit)}`);
        // A system that timed out or failed would only do so again: its one result stands.
        if (outcome.kind !== 'ok') stopped.add(system);
      }
      if (resources !== undefined && system !== 'sdk') result.addResources(system, resources);
    }
  }
  if (options.countRequests && options.systems.includes('bucketfs')) {
    const { outcomes, requests } = await runOnce(ctx, 'bucketfs', def, `bucketfs-debug-${ctx.latencyMs}`, true);
    for (const metric of def.metrics) {
      const counts = requests?.get(metric.id);
      const outcome = outcomes.get(metric.id);
      if (counts !== undefined && outcome !== undefined) result.requests.set(metric.id, { counts, outcome });
    }
    log(`${where} ${def.id}: requests counted`);
  }
  for (const metric of def.metrics) {
    const bySystem = result.outcomes.get(metric.id);
    const summary = options.systems.map((s) => {
      const m = medianOutcome(bySystem?.get(s) ?? [], metric.unit);
      return `${SYSTEM_LABELS[s]} ${m === undefined ? '—' : describe(m, metric.unit)}`;
    });
    log(`${where} ${metric.id} medians: ${summary.join(', ')}`);
  }
}

/** Appends to `results` as it goes, so a failure later still leaves what was measured. */
async function measureServer(
  kind: S3ServerKind,
  options: BenchOptions,
  defs: readonly WorkloadDef[],
  runDir: string,
  cleanup: Cleanup,
  tar: RunContext['tar'],
  results: ConfigResult[],
): Promise<void> {
  log(`bench: starting ${kind}...`);
  const { handle: server, reclaim } = await startBenchServer(kind, options.cephStore);
  const stopServer = cleanup.add(`stop ${kind}`, () => server.stop());
  const direct = benchClient(server);
  try {
    await createBucket(server, BUCKET);
    const startedMs = Date.now();
    log(`bench: ${kind} at ${server.endpoint}; filling the bucket with the SDK...`);
    await bounded('filling the bucket', POPULATE_TIMEOUT_MS, populate(direct, BUCKET, options.scale, options.workloads));
    log(`bench: bucket filled in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
    for (const latencyMs of options.latenciesMs) {
      const proxy = latencyMs > 0 ? await startDelayProxy(server.endpoint, latencyMs) : undefined;
      const closeProxy = cleanup.add(`close proxy ${proxy?.endpoint}`, async () => proxy?.close());
      const ctx: RunContext = {
        cleanup,
        runDir,
        server,
        endpoint: proxy?.endpoint ?? server.endpoint,
        latencyMs,
        bucket: BUCKET,
        direct,
        scale: options.scale,
        timeoutSeconds: options.timeoutSeconds,
        tar,
        reclaim,
      };
      const result = new ConfigResult(kind, latencyMs);
      results.push(result);
      for (const def of defs) await measureWorkload(ctx, options, def, result);
      await closeProxy();
    }
  } finally {
    direct.destroy();
    await stopServer();
  }
}

async function main(): Promise<number> {
  // The SDK's multi-line "Node >= 22 soon" notice would bury the progress lines.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let options: BenchOptions;
  try {
    options = await parseOptions(process.argv);
  } catch (e) {
    if (e instanceof UsageError) {
      log(`bench: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const missing = ensureTools(options.systems, log);
  if (missing !== undefined) {
    log(missing);
    return 1;
  }
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'cli.js'))) {
    log('bench: the compiled bucketfs is missing: run `npm run build` (npm run bench does it)');
    return 1;
  }
  await reapStaleRuns(log);
  const runDir = path.join(BENCH_TMP, `run-${process.pid}`);
  fs.mkdirSync(runDir, { recursive: true });
  const cleanup = new Cleanup();
  cleanup.add(`remove ${runDir}`, async () => removeDirSafely(runDir));
  cleanOnSignals(cleanup, log);

  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const defs = workloadDefs(options.scale).filter((w) => options.workloads.includes(w.id));
  const results: ConfigResult[] = [];
  let failure: unknown;
  try {
    const tar = options.workloads.includes('untar')
      ? makeTarball(path.join(runDir, 'data'), options.scale.tarFiles)
      : { tarball: '', tree: '', manifest: '', entries: [] };
    for (const kind of options.servers) await measureServer(kind, options, defs, runDir, cleanup, tar, results);
  } catch (e) {
    failure = e;
  } finally {
    await cleanup.runAll(log);
    removeEmptyStateDirs();
  }

  const section = renderSection({
    title: options.scale.name === 'quick' ? 'Quick mode (`--quick`)' : 'Full scale',
    note: failure === undefined ? options.note : `INCOMPLETE: the run stopped early. ${options.note}`,
    commandLine: options.commandLine,
    startedAt,
    finishedAt: new Date(),
    machine: [...describeMachine().lines, `load average (1, 5, 15 min) at the start: ${loadAtStart}; at the end: ${loadAverage()}`],
    runs: options.runs,
    timeoutSeconds: options.timeoutSeconds,
    systems: options.systems,
    workloads: defs,
    results,
  });
  process.stdout.write(`${section}\n`);
  if (failure !== undefined) {
    // What was measured is printed above; a partial table never replaces a complete one on file.
    log(`bench: stopped early: ${(failure as Error)?.stack ?? String(failure)}`);
    return 1;
  }
  if (options.out !== '') {
    const file = path.resolve(REPO_ROOT, options.out);
    writeSection(file, options.section, renderPreamble(workloadDefs(options.scale)), section);
    log(`bench: wrote section '${options.section}' of ${file}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`bench: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
