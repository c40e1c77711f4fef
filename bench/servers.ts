// The S3 servers the bench runs against, started through test/support (Ceph RGW or s3rver) in the
// bench's state folder. Ceph frees deleted objects only when its garbage collector gets to them
// (a minute at best): a 1 GiB write per run outpaces that and fills its memstore (RAM), so the
// harness runs the collector itself after every run that deleted what it wrote.

import path from 'node:path';
import { runTool } from '../test/support/mount-session.js';
import { startS3Server, type S3ServerHandle, type S3ServerKind } from '../test/support/s3-server.js';
import { SERVERS_DIR } from './cleanup.js';

export interface BenchServer {
  readonly handle: S3ServerHandle;
  /** Gives back the space of deleted objects now; resolves with a problem to report, if any. */
  reclaim(): Promise<string | undefined>;
}

const GC_TIMEOUT_MS = 120_000;

export async function startBenchServer(kind: S3ServerKind, cephStore: 'memstore' | 'bluestore'): Promise<BenchServer> {
  const dir = path.join(SERVERS_DIR, `${kind}-${process.pid}`);
  // ceph-rgw-start.sh reads its store from the environment it inherits.
  process.env.CEPH_OSD_STORE = cephStore;
  const handle = await startS3Server(kind, dir);
  if (kind !== 'ceph') return { handle, reclaim: async () => undefined };
  return {
    handle,
    async reclaim() {
      const args = ['-c', path.join(dir, 'ceph.conf'), 'gc', 'process', '--include-all'];
      const out = await runTool('radosgw-admin', args, { timeoutMs: GC_TIMEOUT_MS }).catch((e: Error) => ({ code: -1, stderr: e.message }));
      return out.code === 0 ? undefined : `radosgw-admin gc process failed (${out.code}): ${out.stderr.trim().split('\n').pop() ?? ''}`;
    },
  };
}
