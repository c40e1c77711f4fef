// An HTTP proxy on 127.0.0.1 in front of a real S3 server that spoils chosen answers, for mounted
// tests of what a client sees from a struggling server. Requests are forwarded byte for byte (same
// method, raw path and query, raw headers — Host included — and body), so SigV4 signatures stay
// valid; only what comes back is changed. Connection-level faults (refused, silent, throttled
// links) are fault-proxy.ts's job: put it in front of this one (startFaultChain).

import http from 'node:http';
import net from 'node:net';
import { s3ErrorXml } from './broken-server.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** What happens to one request that a rule picks. */
export type HttpFault =
  /** Answered by the proxy with an S3 XML error; the server never sees the request (as S3's front end throttles). */
  | { readonly kind: 'status'; readonly status: number; readonly code: string }
  /** Forwarded; once `afterBytes` of the request body have passed, both connections are reset. */
  | { readonly kind: 'reset-request-body'; readonly afterBytes: number }
  /** The server's headers and the first `afterBytes` of its body, then a reset (RST). */
  | { readonly kind: 'reset-response-body'; readonly afterBytes: number }
  /** The server's headers and the first `afterBytes` of its body, then a clean close (FIN): a truncated body. */
  | { readonly kind: 'truncate-response-body'; readonly afterBytes: number };

/** A request as a rule sees it: the method and the raw path with its query (`/bucket/key?x-id=GetObject`). */
export interface RequestLine {
  readonly method: string;
  readonly url: string;
}

export interface FaultRule {
  readonly fault: HttpFault;
  /** Which requests the rule applies to (default: every one). */
  readonly match?: (request: RequestLine) => boolean;
  /** The next `count` matching requests… */
  readonly count?: number;
  /** …or every matching request for `forMs` from now (with neither: until clear()). */
  readonly forMs?: number;
}

export interface HttpFaultProxy {
  readonly endpoint: string;
  /** Adds a rule; the oldest live rule that matches a request decides its fault. */
  inject(rule: FaultRule): void;
  /** Drops every rule: all requests pass again. */
  clear(): void;
  /** Requests received, and requests a rule spoiled, so far. */
  readonly requests: number;
  readonly faulted: number;
  close(): Promise<void>;
}

/** GETs of an object (not a bucket listing): `/bucket/key…`. */
export const objectGets = (r: RequestLine): boolean => r.method === 'GET' && /^\/[^/?]+\/[^?]/.test(r.url);
/** Bucket listings: `GET /bucket?list-type=2…`. */
export const listings = (r: RequestLine): boolean => r.method === 'GET' && /^\/[^/?]+\/?\?/.test(r.url) && r.url.includes('list-type=');
/** Every PUT: PutObject and UploadPart, and the server-side copies (CopyObject, UploadPartCopy). */
export const puts = (r: RequestLine): boolean => r.method === 'PUT';

interface LiveRule {
  readonly rule: FaultRule;
  remaining: number;
  readonly untilMs: number;
}

export async function startHttpFaultProxy(target: string): Promise<HttpFaultProxy> {
  const url = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const sockets = new Set<net.Socket>();
  let rules: LiveRule[] = [];
  let requests = 0;
  let faulted = 0;

  const faultFor = (request: RequestLine): HttpFault | undefined => {
    const now = Date.now();
    rules = rules.filter((r) => r.remaining > 0 && now < r.untilMs);
    const live = rules.find((r) => r.rule.match?.(request) ?? true);
    if (!live) return undefined;
    live.remaining--;
    faulted++;
    return live.rule.fault;
  };

  const answerError = (req: http.IncomingMessage, res: http.ServerResponse, fault: { status: number; code: string }, waitsForContinue: boolean) => {
    const body = s3ErrorXml(fault.code, '', `fault-${faulted}`);
    const headers = { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': `fault-${faulted}` };
    if (waitsForContinue) {
      // The client holds its body back until "100 Continue", which it will never get: answer now
      // and close, so no body can arrive later on a connection it would reuse.
      res.writeHead(fault.status, { ...headers, connection: 'close' });
      res.end(body);
      return;
    }
    // Read the whole request first, as a server does, so the connection stays usable.
    req.on('end', () => {
      res.writeHead(fault.status, headers);
      res.end(body);
    });
    req.resume();
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, fault: HttpFault | undefined, waitsForContinue: boolean) => {
    if (waitsForContinue) res.writeContinue();
    const upstream = http.request({ host: url.hostname, port: Number(url.port || 80), method: req.method, path: req.url, headers: req.rawHeaders, agent });
    const resetBoth = () => {
      upstream.destroy();
      req.socket.resetAndDestroy();
    };
    upstream.on('error', resetBoth);
    // The client gave up (timeout): the server's side of the request goes too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });

    let requestBytes = 0;
    req.on('data', (chunk: Buffer) => {
      if (fault?.kind === 'reset-request-body' && requestBytes + chunk.length > fault.afterBytes) {
        upstream.write(chunk.subarray(0, fault.afterBytes - requestBytes), resetBoth);
        requestBytes = fault.afterBytes;
        req.pause();
        return;
      }
      requestBytes += chunk.length;
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.on('end', () => upstream.end());

    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
      const cut = fault?.kind === 'reset-response-body' || fault?.kind === 'truncate-response-body' ? fault : undefined;
      let bodyBytes = 0;
      let cutDone = false;
      answer.on('data', (chunk: Buffer) => {
        if (cutDone) return;
        if (cut && bodyBytes + chunk.length > cut.afterBytes) {
          const last = chunk.subarray(0, cut.afterBytes - bodyBytes);
          bodyBytes = cut.afterBytes;
          // The rest of the answer, its end included, must not reach the client: the end of a
          // chunked body would make the cut body look complete.
          cutDone = true;
          answer.destroy();
          res.write(last, () => (cut.kind === 'reset-response-body' ? res.socket?.resetAndDestroy() : res.socket?.end()));
          return;
        }
        bodyBytes += chunk.length;
        if (!res.write(chunk)) {
          answer.pause();
          res.once('drain', () => answer.resume());
        }
      });
      answer.on('end', () => {
        if (!cutDone) res.end();
      });
      answer.on('error', resetBoth);
    });
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, waitsForContinue: boolean) => {
    requests++;
    const fault = faultFor({ method: req.method ?? '', url: req.url ?? '' });
    if (fault?.kind === 'status') answerError(req, res, fault, waitsForContinue);
    else forward(req, res, fault, waitsForContinue);
  };

  const server = http.createServer({ keepAliveTimeout: 60_000 });
  server.on('request', (req, res) => handle(req, res, false));
  server.on('checkContinue', (req, res) => handle(req, res, true));
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    inject(rule) {
      rules.push({ rule, remaining: rule.count ?? Infinity, untilMs: rule.forMs !== undefined ? Date.now() + rule.forMs : Infinity });
    },
    clear() {
      rules = [];
    },
    get requests() {
      return requests;
    },
    get faulted() {
      return faulted;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The client's path to the server through both proxies: connection faults (fault-proxy.ts) at the
 * front, where the client's own sockets are, and answer faults behind it.
 */
export interface FaultChain {
  /** Point the client here. */
  readonly endpoint: string;
  readonly tcp: FaultProxy;
  readonly http: HttpFaultProxy;
  close(): Promise<void>;
}

export async function startFaultChain(target: string): Promise<FaultChain> {
  const httpProxy = await startHttpFaultProxy(target);
  const tcp = await startFaultProxy(httpProxy.endpoint);
  return {
    endpoint: tcp.endpoint,
    tcp,
    http: httpProxy,
    async close() {
      await tcp.close();
      await httpProxy.close();
    },
  };
}
