// A TCP proxy on 127.0.0.1 in front of a real S3 server whose next connections fail on cue: `reset`
// resets a connection as soon as it arrives, `cut` forwards the request and then only the first
// `afterBytes` bytes of the answer before resetting (a body cut off half-way). Connections past the
// plan pass untouched. For retries of one request, where fault-proxy.ts fails every connection.

import net from 'node:net';

export type ConnectionFault = { readonly kind: 'reset' } | { readonly kind: 'cut'; readonly afterBytes: number };

export interface FlakyProxy {
  readonly endpoint: string;
  /** Faults for the next connections, in order of arrival. */
  plan(faults: readonly ConnectionFault[]): void;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const url = new URL(target);
  const open = new Set<net.Socket>();
  let queue: ConnectionFault[] = [];
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    const fault = queue.shift();
    if (fault?.kind === 'reset') return void client.resetAndDestroy();
    const upstream = net.connect(Number(url.port || 80), url.hostname);
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    let budget = fault?.kind === 'cut' ? fault.afterBytes : Infinity;
    upstream.on('data', (chunk: Buffer) => {
      if (chunk.length <= budget) {
        budget -= chunk.length;
        client.write(chunk);
        return;
      }
      client.write(chunk.subarray(0, budget), () => client.resetAndDestroy());
      budget = 0;
      upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    plan(faults) {
      queue = [...faults];
    },
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
