// A TCP proxy on 127.0.0.1 in front of the real S3 server, to make the network fail on demand
// without mocking S3: `pass` forwards bytes, `refuse` resets every connection (a server that went
// away), `blackhole` accepts and holds connections but never answers (a hung server or a dead link),
// `throttle` forwards uploads at a fixed slow rate (a thin but working link). While passing, the
// server's resets and closes reach the client, so the proxy can front answer faults (http-fault-proxy.ts).

import net from 'node:net';

export type FaultMode = 'pass' | 'refuse' | 'blackhole' | 'throttle';

export interface FaultProxy {
  readonly endpoint: string;
  setMode(mode: FaultMode): void;
  close(): Promise<void>;
}

/** `throttleBytesPerSecond`: the client → server rate in `throttle` mode. */
export async function startFaultProxy(target: string, throttleBytesPerSecond = 512 * 1024): Promise<FaultProxy> {
  const url = new URL(target);
  const targetPort = Number(url.port || 80);
  let mode: FaultMode = 'pass';
  const open = new Set<net.Socket>();

  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (mode === 'refuse') return void client.resetAndDestroy();
    if (mode === 'blackhole') return; // read nothing, answer nothing
    const upstream = net.connect(targetPort, url.hostname);
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    // What the server does to a connection reaches the client, unless the link is frozen: a reset
    // as a reset, a close (a body cut short, an idle keep-alive connection) as a close.
    upstream.on('error', () => {
      if (mode !== 'blackhole') client.resetAndDestroy();
    });
    upstream.on('end', () => {
      if (mode !== 'blackhole') client.end();
    });
    client.on('close', () => upstream.destroy());
    // Forward only while passing: a mode change freezes or kills connections already open.
    client.on('data', (chunk: Buffer) => {
      if (mode === 'pass') upstream.write(chunk);
      if (mode !== 'throttle') return;
      // Forward this chunk, then read nothing more until the rate allows it.
      upstream.write(chunk);
      client.pause();
      setTimeout(() => client.resume(), (chunk.length / throttleBytesPerSecond) * 1000);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'pass' || mode === 'throttle') client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    setMode(next) {
      mode = next;
      if (next === 'refuse') for (const socket of open) socket.resetAndDestroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
