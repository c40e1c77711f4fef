// The client side of the control socket (server.ts): one request, the lines it brings back. A daemon
// that is gone or never existed is one ControlError sentence, never a stack trace.

import net from 'node:net';
import type { PresignedUrl } from '../s3/s3-object-store.js';
import type { MountStatus, SyncProgress } from './status.js';

export class ControlError extends Error {
  override readonly name = 'ControlError';
}

/** The final answer of a request. */
export interface ControlAnswer {
  readonly ok: boolean;
  readonly error?: string;
  readonly status?: MountStatus;
  readonly failed?: readonly { readonly path: string; readonly error: string }[];
  readonly presigned?: PresignedUrl;
}

/** What a client may ask: see server.ts. */
export type ControlRequest =
  | { readonly op: 'status' | 'sync' }
  | { readonly op: 'presign'; readonly path: string; readonly method: 'GET' | 'PUT'; readonly expiresSeconds: number };

/**
 * Sends `request` (`{"op": "status"}`...) to the daemon listening on `socketPath` and resolves with its
 * final answer, handing progress lines to `onProgress`. `timeoutMs` bounds the whole exchange (none by default).
 */
export function ask(socketPath: string, request: ControlRequest | ControlRequest['op'], onProgress?: (p: SyncProgress) => void, timeoutMs?: number): Promise<ControlAnswer> {
  const message = typeof request === 'string' ? { op: request } : request;
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let buffered = '';
    let settled = false;
    const finish = (outcome: ControlAnswer | Error): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(new ControlError(`the daemon on ${socketPath} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(message)}\n`));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const gone = e.code === 'ENOENT' || e.code === 'ECONNREFUSED';
      finish(new ControlError(gone ? `no bucketfs daemon answers on ${socketPath}` : `the control socket ${socketPath}: ${e.message}`));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return finish(new ControlError(`the daemon on ${socketPath} sent something that is not JSON`));
        }
        if (message.progress !== undefined) onProgress?.(message.progress as SyncProgress);
        else return finish(message as unknown as ControlAnswer);
      }
    });
    socket.on('close', () => finish(new ControlError(`the daemon on ${socketPath} closed the connection before answering (did it stop?)`)));
  });
}
