// Vitest global setup of the `s3` project: starts one local S3 server per run (Ceph RGW by default,
// s3rver with BUCKETFS_TEST_S3=s3rver) under .test-tmp/, provides it to tests as inject('s3'), and
// stops it by PID in the teardown, which vitest runs whether tests passed or failed.

import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type { S3TestContext } from './s3-env.js';
import { reapStaleServers, repoRoot, startS3Server, type S3ServerKind } from './s3-server.js';

function serverKind(value: string | undefined): S3ServerKind {
  if (value === undefined || value === '' || value === 'ceph') return 'ceph';
  if (value === 's3rver') return 's3rver';
  throw new Error(`BUCKETFS_TEST_S3 must be 'ceph' or 's3rver', not '${value}'`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const kind = serverKind(process.env.BUCKETFS_TEST_S3);
  const parent = path.join(repoRoot(), '.test-tmp');
  // Servers of runs that were killed before their teardown would otherwise live forever.
  reapStaleServers(parent);
  const dir = path.join(parent, `s3-${kind}-${process.pid}`);
  const startedMs = Date.now();
  const server = await startS3Server(kind, dir);
  // Last resort if vitest exits without running the teardown (an uncaught error in the runner).
  const onExit = (): void => server.stopSync();
  process.once('exit', onExit);
  const tmpDir = path.join(dir, 'scratch');
  fs.mkdirSync(tmpDir, { recursive: true });
  console.log(`[s3] ${kind} at ${server.endpoint}, started in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
  const context: S3TestContext = {
    kind,
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    tmpDir,
  };
  project.provide('s3', context);
  return async () => {
    process.off('exit', onExit);
    await server.stop();
  };
}
