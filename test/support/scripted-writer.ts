// A writer process a test drives step by step (python3, real syscalls on the mount): open, write a
// local file's bytes, fsync, close, one command at a time, each answered by one line. It lets a test
// stop the daemon at a chosen point — bytes written, a close waiting on its upload — which a tool
// like dd cannot. Killed by PID when the test ends.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const SCRIPT = `
import os, sys
fds = {}
for line in sys.stdin:
    words = line.split()
    if not words: continue
    cmd, args = words[0], words[1:]
    try:
        if cmd == 'open':
            fds[args[0]] = os.open(args[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        elif cmd == 'write':
            data = open(args[1], 'rb').read()
            done = 0
            while done < len(data):
                done += os.write(fds[args[0]], data[done:done + 1048576])
        elif cmd == 'fsync':
            os.fsync(fds[args[0]])
        elif cmd == 'close':
            os.close(fds.pop(args[0]))
        print('ok', cmd, flush=True)
    except OSError as e:
        print('errno', e.errno, cmd, flush=True)
`;

export class ScriptedWriter {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: ((line: string) => void)[] = [];
  #buffered = '';
  #stderr = '';

  constructor() {
    this.#child = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stdout.on('data', (chunk: Buffer) => {
      this.#buffered += chunk.toString('utf8');
      for (let nl = this.#buffered.indexOf('\n'); nl >= 0; nl = this.#buffered.indexOf('\n')) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        this.#waiting.shift()?.(line);
      }
    });
    this.#child.stderr.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString('utf8')));
    this.#child.stdin.on('error', () => undefined);
  }

  /**
   * Sends one command (`open NAME PATH`, `write NAME SOURCE_FILE`, `fsync NAME`, `close NAME`);
   * resolves with its answer: `ok CMD` or `errno N CMD`. Rejects after `timeoutMs`.
   */
  send(command: string, timeoutMs = 120_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`'${command}' got no answer in ${timeoutMs} ms (stderr: ${this.#stderr})`)), timeoutMs);
      this.#waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      this.#child.stdin.write(`${command}\n`);
    });
  }

  /** Ends the process (SIGKILL, by PID). */
  kill(): void {
    if (this.#child.exitCode === null && this.#child.pid !== undefined) {
      try {
        process.kill(this.#child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
