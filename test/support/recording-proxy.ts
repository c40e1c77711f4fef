// An HTTP proxy on 127.0.0.1 in front of the real S3 server that records every request's method,
// path and headers, to prove what bucketfs puts on the wire where the server refuses it (Ceph RGW
// takes SSE only over https). Requests are forwarded unchanged (the Host header too, so SigV4
// signatures stay valid) and answers come back unchanged: the server still decides everything.

import http from 'node:http';
import net from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The server's status, once it answered. */
  status?: number;
}

export interface RecordingProxy {
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const url = new URL(target);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers };
    requests.push(record);
    // Node already answered any Expect: 100-continue; the server must not wait for a second one.
    const { expect: _expect, ...forwarded } = req.headers;
    const upstream = http.request({ host: url.hostname, port: Number(url.port || 80), method: req.method, path: req.url, headers: forwarded, agent }, (answer) => {
      record.status = answer.statusCode;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
