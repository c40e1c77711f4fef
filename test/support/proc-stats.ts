// What a daemon holds, read from /proc (never through the mount): resident memory now and at its
// peak, and its open descriptors split into TCP connections (the keep-alive pool to S3, which
// stays open by design) and everything else (files, pipes, /dev/fuse: these must not leak).
// A sampler records them every few hundred ms during a load test.

import { promises as fsp } from 'node:fs';

const MiB = 1024 * 1024;

export interface ProcSample {
  /** ms since the sampler started. */
  readonly atMs: number;
  readonly rssBytes: number;
  readonly tcpSockets: number;
  readonly otherFds: number;
}

async function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
  if (!kib) throw new Error(`no ${field} for pid ${pid}`);
  return Number(kib) * 1024;
}

export const rssBytes = (pid: number): Promise<number> => statusField(pid, 'VmRSS');
/** The peak resident size over the process's life (VmHWM). */
export const peakRssBytes = (pid: number): Promise<number> => statusField(pid, 'VmHWM');

/** Inodes of the TCP sockets in the process's network namespace. */
async function tcpInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    const text = await fsp.readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode !== undefined && inode !== '0') inodes.add(inode);
    }
  }
  return inodes;
}

/** The process's descriptors: TCP connections, and all others. */
export async function fdCounts(pid: number): Promise<{ tcpSockets: number; otherFds: number }> {
  const fds = await fsp.readdir(`/proc/${pid}/fd`);
  const targets = await Promise.all(fds.map((fd) => fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  const tcp = await tcpInodes(pid);
  let tcpSockets = 0;
  let otherFds = 0;
  for (const target of targets) {
    if (target === '') continue; // closed while we looked
    const socket = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (socket !== undefined && tcp.has(socket)) tcpSockets++;
    else otherFds++;
  }
  return { tcpSockets, otherFds };
}

export async function procSample(pid: number, atMs = 0): Promise<ProcSample> {
  const [rss, fds] = await Promise.all([rssBytes(pid), fdCounts(pid)]);
  return { atMs, rssBytes: rss, ...fds };
}

/** Samples `pid` every `everyMs` until stop(); samples are kept in order. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  readonly #pid: number;
  readonly #startedMs = Date.now();
  readonly #timer: NodeJS.Timeout;
  #busy = false;

  constructor(pid: number, everyMs = 500) {
    this.#pid = pid;
    this.#timer = setInterval(() => void this.#take(), everyMs);
  }

  /** ms since the sampler started: marks for between(). */
  now(): number {
    return Date.now() - this.#startedMs;
  }

  /** Samples taken in [fromMs, toMs). */
  between(fromMs: number, toMs: number): ProcSample[] {
    return this.samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #take(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.samples.push(await procSample(this.#pid, this.now()));
    } catch {
      // The process is gone: the test will say why.
    } finally {
      this.#busy = false;
    }
  }
}

/** The median of `values` (0 for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : (sorted[Math.floor(sorted.length / 2)] as number);
}

export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;
