// Where a daemon's files live: ~/.cache/bucketfs (XDG_CACHE_HOME) holds run/ID.json (its pid file)
// and run/ID.sock (its control socket), ID a hash of the mountpoint. No heavy imports, so tests and
// the client commands can compute the same paths without loading the daemon.

import { cacheHome as defaultCacheHome } from '../config.js';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

/** ~/.cache/bucketfs, or below `cacheHome` (XDG_CACHE_HOME of another process). */
export function stateDir(cacheHome: string = defaultCacheHome()): string {
  return path.join(cacheHome, 'bucketfs');
}

/** run/ID: the pid file and the socket of the daemon of `mountpoint` are this plus .json / .sock. */
export function runFileStem(mountpoint: string, cacheHome?: string): string {
  const id = createHash('sha256').update(path.resolve(mountpoint)).digest('hex').slice(0, 16);
  return path.join(stateDir(cacheHome), 'run', id);
}

/**
 * The control socket of the daemon of `mountpoint`, next to its pid file. A Unix socket path holds
 * at most 107 bytes: a deep cache folder falls back to a private folder in the system temp dir.
 */
export function controlSocketPath(mountpoint: string, cacheHome?: string): string {
  const beside = `${runFileStem(mountpoint, cacheHome)}.sock`;
  if (Buffer.byteLength(beside) <= 100) return beside;
  const id = createHash('sha256').update(beside).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `bucketfs-${process.getuid?.() ?? 0}`, `${id}.sock`);
}
