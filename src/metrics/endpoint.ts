// --metrics for a daemon: the counters (MountMetrics) and the HTTP server that shows them, opened
// together before the mount so the mount fails with one line when the address cannot be used.

import { MountMetrics } from './mount-metrics.js';
import { startMetricsServer, type MetricsAddress } from './server.js';
import type { MountStatus } from '../control/status.js';

export class MetricsError extends Error {
  override readonly name = 'MetricsError';
}

export interface MetricsEndpoint {
  readonly url: string;
  /** The mount whose status the gauges read. */
  attach(status: () => MountStatus): void;
  close(): Promise<void>;
}

export async function openMetrics(address: MetricsAddress): Promise<MetricsEndpoint> {
  const metrics = new MountMetrics();
  let server;
  try {
    server = await startMetricsServer(address, () => metrics.render());
  } catch (e) {
    metrics.close();
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address' : code === 'EACCES' ? 'not allowed (ports below 1024 need root)' : (e as Error).message;
    throw new MetricsError(`--metrics ${address.host}:${address.port}: cannot listen there (${why}): choose another address`);
  }
  const opened = server;
  return {
    url: opened.url,
    attach: (status) => metrics.attach(status),
    close: async () => {
      await opened.close();
      metrics.close();
    },
  };
}
