// I/O on a mount from outside the daemon, timed and with the errno a program sees, for tests whose
// claim is "fails with EIO within N seconds, never hangs": python3 for exact syscalls, and any real
// tool with its wall time.

import { runTool, type ToolOptions, type ToolResult } from './mount-session.js';

export interface TimedRead {
  /** 0 on success, else the errno of the failing open/read/close. */
  readonly errno: number;
  /** Hex sha256 of the bytes read; '-' on failure. */
  readonly digest: string;
  readonly seconds: number;
}

const READ_AT = `
import os, sys, hashlib, time
t = time.time()
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
    os.lseek(fd, int(sys.argv[2]), 0)
    got = b''
    while len(got) < int(sys.argv[3]):
        b = os.read(fd, int(sys.argv[3]) - len(got))
        if not b: break
        got += b
    os.close(fd)
    print(0, hashlib.sha256(got).hexdigest(), round(time.time() - t, 2))
except OSError as e:
    print(e.errno, '-', round(time.time() - t, 2))
`;

/** Reads `length` bytes at `offset` with python3 (open, lseek, read, close) and reports the errno. */
export async function readAt(file: string, offset: number, length: number): Promise<TimedRead> {
  const r = await runTool('python3', ['-c', READ_AT, file, String(offset), String(length)], { timeoutMs: 120_000 });
  const [errno, digest, seconds] = r.stdout.trim().split(' ');
  return { errno: Number(errno), digest: digest ?? '-', seconds: Number(seconds) };
}

/** runTool, with the wall time it took in seconds. */
export async function timedTool(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult & { seconds: number }> {
  const startedMs = Date.now();
  const result = await runTool(command, args, options);
  return { ...result, seconds: (Date.now() - startedMs) / 1000 };
}
