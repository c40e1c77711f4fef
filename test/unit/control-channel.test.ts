// The daemon's control channel without a daemon: where its socket lives (next to the pid file, or
// in a private temp folder when that path is too long for a socket), who may reach it (folder 0700,
// socket 0600) and what it speaks (one JSON line per request and answer).
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ask } from '../../src/control/client.js';
import { controlSocketPath, runFileStem } from '../../src/control/paths.js';
import { type ControlHandlers, type ControlServer, startControlServer } from '../../src/control/server.js';
import type { MountStatus } from '../../src/control/status.js';
import { silentLogger } from '../../src/log.js';

const dirs: string[] = [];
const servers: ControlServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const dir of dirs.splice(0)) await fsp.rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-control-'));
  dirs.push(dir);
  return dir;
}

const STATUS = { bucket: 'b' } as unknown as MountStatus;
const handlers: ControlHandlers = {
  status: () => STATUS,
  sync: async () => ({ failed: [] }),
  syncProgress: () => ({ files: 0, doneBytes: 0, totalBytes: 0, bytesPerSecond: 0 }),
  presign: async () => {
    throw new Error('not in this test');
  },
};

/** Sends raw bytes and resolves with the first line the server answers. */
function rawLine(socketPath: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write(text));
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('utf8');
      if (got.includes('\n')) {
        socket.destroy();
        resolve(got.slice(0, got.indexOf('\n')));
      }
    });
    socket.on('error', reject);
  });
}

describe('the control socket', () => {
  it('is next to the pid file, in a folder only the user enters, and only the user may connect', async () => {
    const cacheHome = await tempDir();
    const socketPath = controlSocketPath('/mnt/bucket', cacheHome);
    expect(socketPath).toBe(`${runFileStem('/mnt/bucket', cacheHome)}.sock`);
    servers.push(await startControlServer(socketPath, handlers, silentLogger));
    expect((await fsp.stat(path.dirname(socketPath))).mode & 0o777).toBe(0o700);
    expect((await fsp.stat(socketPath)).mode & 0o777).toBe(0o600);
  });

  it('speaks JSON lines: one request, one answer, and one line for what it cannot read', async () => {
    const socketPath = controlSocketPath('/mnt/bucket', await tempDir());
    servers.push(await startControlServer(socketPath, handlers, silentLogger));
    expect(await ask(socketPath, 'status')).toEqual({ ok: true, status: STATUS });
    expect(JSON.parse(await rawLine(socketPath, 'status please\n'))).toEqual({ ok: false, error: 'not a JSON line' });
    expect(JSON.parse(await rawLine(socketPath, '{"op":"mount"}\n'))).toMatchObject({ ok: false, error: expect.stringMatching(/^unknown op "mount"/) });
  });

  it('falls back to a private folder in the system temp dir when the path is too long for a socket', () => {
    const deep = path.join('/', 'x'.repeat(120));
    const socketPath = controlSocketPath('/mnt/bucket', deep);
    expect(path.dirname(socketPath)).toBe(path.join(os.tmpdir(), `bucketfs-${process.getuid?.() ?? 0}`));
    expect(Buffer.byteLength(socketPath)).toBeLessThanOrEqual(107);
  });
});
