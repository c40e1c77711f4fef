// The daemon's control channel: a Unix socket next to its pid file (folder 0700, socket 0600, so only
// the mounting user reaches it), speaking JSON lines. A request is one line {"op":"status"} or
// {"op":"sync"}; the answer to status is one line {"ok":true,"status":{...}}; sync sends a
// {"progress":{...}} line every PROGRESS_EVERY_MS while it works, then {"ok":bool,"failed":[...]}.
// {"op":"presign","path":"/a/b","method":"GET"|"PUT","expiresSeconds":N} answers
// {"ok":true,"presigned":{url,method,headers,expiresAt}} (the daemon holds the credentials).

import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { PresignedUrl } from '../s3/s3-object-store.js';
import type { MountStatus, SyncOutcome, SyncProgress } from './status.js';

export interface ControlHandlers {
  status(): MountStatus;
  /** Uploads every byte written so far; reports progress while it runs. */
  sync(): Promise<SyncOutcome>;
  syncProgress(): SyncProgress;
  /** A presigned URL for the object behind `path` (a path in the mount, starting with '/'). */
  presign(path: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<PresignedUrl>;
}

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

const PROGRESS_EVERY_MS = 500;
/** A request is a few bytes; anything longer is not a client of ours. */
const MAX_LINE_BYTES = 64 * 1024;

/** The socket's folder must be ours and private: anyone who can reach the socket can ask for a sync. */
async function privateFolder(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const stat = await fsp.lstat(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
    throw new Error(`the control socket folder ${dir} is not a folder of this user: remove it`);
  }
  if ((stat.mode & 0o077) !== 0) await fsp.chmod(dir, 0o700);
}

export async function startControlServer(socketPath: string, handlers: ControlHandlers, log: Logger): Promise<ControlServer> {
  await privateFolder(path.dirname(socketPath));
  // A socket file left by a daemon that died: nothing listens on it any more (one daemon per mountpoint).
  await fsp.rm(socketPath, { force: true });
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      if (buffered.length > MAX_LINE_BYTES) return void socket.destroy();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        void answer(socket, line, handlers, log);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fsp.chmod(socketPath, 0o600);
  return {
    socketPath,
    close: async () => {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fsp.rm(socketPath, { force: true });
    },
  };
}

function send(socket: net.Socket, message: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

async function answer(socket: net.Socket, line: string, handlers: ControlHandlers, log: Logger): Promise<void> {
  let request: { op?: unknown };
  try {
    request = JSON.parse(line) as { op?: unknown };
  } catch {
    return send(socket, { ok: false, error: 'not a JSON line' });
  }
  if (request.op === 'status') return send(socket, { ok: true, status: handlers.status() });
  if (request.op === 'presign') return presign(socket, request as PresignRequest, handlers, log);
  if (request.op !== 'sync') return send(socket, { ok: false, error: `unknown op ${JSON.stringify(request.op)}: use status, sync or presign` });
  log.info('sync requested through the control socket');
  const ticker = setInterval(() => send(socket, { progress: handlers.syncProgress() }), PROGRESS_EVERY_MS);
  try {
    const outcome = await handlers.sync();
    send(socket, { ok: outcome.failed.length === 0, failed: outcome.failed });
  } catch (e) {
    send(socket, { ok: false, error: (e as Error).message, failed: [] });
  } finally {
    clearInterval(ticker);
  }
}

interface PresignRequest {
  readonly path?: unknown;
  readonly method?: unknown;
  readonly expiresSeconds?: unknown;
}

async function presign(socket: net.Socket, request: PresignRequest, handlers: ControlHandlers, log: Logger): Promise<void> {
  const { path: file, method, expiresSeconds } = request;
  if (typeof file !== 'string' || !file.startsWith('/') || (method !== 'GET' && method !== 'PUT') || typeof expiresSeconds !== 'number') {
    return send(socket, { ok: false, error: 'presign needs a path starting with /, a method GET or PUT and expiresSeconds' });
  }
  try {
    const presigned = await handlers.presign(file, method, expiresSeconds);
    log.info(`presigned a ${method} URL of ${file} valid until ${presigned.expiresAt}`);
    send(socket, { ok: true, presigned });
  } catch (e) {
    send(socket, { ok: false, error: (e as Error).message });
  }
}
