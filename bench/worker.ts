// One workload in a process of its own, so the harness can bound it in time (SIGKILL of the
// worker's process group, `ls`/`tar`/`rm` included) and a hung mount never blocks the harness's
// own threads. Usage: node worker.js '<WorkerSpec JSON>' RUN_DIR; prints one MetricEvent per line.
// RUN_DIR is unused here: it marks the process as that run's, for the reaper of runs that died.

import { benchClient } from './sdk-client.js';
import { runOnMount } from './fs-workloads.js';
import { runOnSdk } from './sdk-workloads.js';
import type { MetricEvent, WorkerSpec } from './worker-protocol.js';

function emit(event: MetricEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('usage: worker.js <spec JSON>');
  const spec = JSON.parse(raw) as WorkerSpec;
  const { target } = spec;
  if (target.kind === 'fs') {
    await runOnMount(spec, target.root, emit);
    return;
  }
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set for the SDK bound');
  const client = benchClient({ kind: target.server, endpoint: target.endpoint, region: target.region, accessKeyId, secretAccessKey });
  try {
    await runOnSdk(spec, client, target.bucket, emit);
  } finally {
    client.destroy();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
