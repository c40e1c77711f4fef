// A TCP proxy on 127.0.0.1 that adds `delayMs` to every chunk in each direction, so a request and
// its answer cost 2 × delayMs more, as on a link that far away (netem is not in this kernel).
// Order is kept: every chunk waits the same delay, and Node fires timers of one duration in the
// order they were set. Reading pauses while more than HIGH_WATER_BYTES are delayed or unsent, so a
// fast sender cannot queue a whole GiB in the proxy. TCP handshakes are not delayed: the clients
// measured keep their connections alive.

import net from 'node:net';

const HIGH_WATER_BYTES = 16 * 1024 * 1024;

export interface DelayProxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

function forwardDelayed(from: net.Socket, to: net.Socket, delayMs: number): void {
  let delayedBytes = 0;
  const adjust = (): void => {
    const backlog = delayedBytes + to.writableLength;
    if (backlog > HIGH_WATER_BYTES && !from.isPaused()) from.pause();
    else if (backlog <= HIGH_WATER_BYTES && from.isPaused()) from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    delayedBytes += chunk.length;
    adjust();
    setTimeout(() => {
      delayedBytes -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      adjust();
    }, delayMs);
  });
  to.on('drain', adjust);
  // The end of the stream travels the same delay line as the data before it.
  from.on('end', () => setTimeout(() => to.end(), delayMs));
}

export async function startDelayProxy(target: string, delayMs: number): Promise<DelayProxy> {
  const url = new URL(target);
  const targetPort = Number(url.port || 80);
  const open = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: url.hostname, noDelay: true });
    track(client);
    track(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    // A reset travels the delay line too; a clean close is the delayed end() above.
    client.on('close', (hadError) => hadError && setTimeout(() => upstream.destroy(), delayMs));
    upstream.on('close', (hadError) => hadError && setTimeout(() => client.destroy(), delayMs));
    forwardDelayed(client, upstream, delayMs);
    forwardDelayed(upstream, client, delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
