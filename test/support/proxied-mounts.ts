// Mounted tests whose mounts reach the S3 server through a fault proxy (to hold uploads back or cut
// them), with scripted writers and local source files: one call registers the beforeAll/afterAll
// that start and stop all of it, unmount everything and end every writer by PID.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { pseudoRandomBytes } from './fixtures.js';
import { makeTestDir, mountBucket, removeTestDir, unmountAll, type MountSession } from './mount-session.js';
import { s3Server } from './s3-env.js';
import { ScriptedWriter } from './scripted-writer.js';

export interface ProxiedMounts {
  readonly proxy: FaultProxy;
  /** A scratch folder outside every mount (sources, spool dirs that outlive a mount). */
  readonly local: string;
  /** Mounts `bucket` through the proxy; `env` adds to the daemon's environment. */
  mount(bucket: string, extraArgs?: readonly string[], env?: Readonly<Record<string, string>>): Promise<MountSession>;
  writer(): ScriptedWriter;
  /** A local file of `sizeBytes` pseudo-random bytes, and those bytes. */
  source(name: string, sizeBytes: number): Promise<{ file: string; data: Buffer }>;
}

export function useProxiedMounts(label: string, throttleBytesPerSecond: number): ProxiedMounts {
  const server = s3Server();
  const writers: ScriptedWriter[] = [];
  let proxy: FaultProxy | undefined;
  let local: string | undefined;
  beforeAll(async () => {
    proxy = await startFaultProxy(server.endpoint, throttleBytesPerSecond);
    local = await makeTestDir(label);
  });
  afterAll(async () => {
    for (const w of writers) w.kill();
    await unmountAll();
    await proxy?.close();
    if (local) await removeTestDir(local);
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useProxiedMounts: used before beforeAll ran');
    return value;
  };
  return {
    get proxy() {
      return ready(proxy);
    },
    get local() {
      return ready(local);
    },
    mount: (bucket, extraArgs = [], env = {}) => mountBucket({ bucket, s3: { ...server, endpoint: ready(proxy).endpoint }, extraArgs, env }),
    writer: () => {
      const w = new ScriptedWriter();
      writers.push(w);
      return w;
    },
    source: async (name, sizeBytes) => {
      const data = pseudoRandomBytes(name, sizeBytes);
      const file = path.join(ready(local), name);
      await fsp.writeFile(file, data);
      return { file, data };
    },
  };
}
