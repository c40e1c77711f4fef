// A log file that logrotate can move away: lines are appended to whatever the path names when the
// file was last opened, and reopen() (on SIGHUP) starts a new file at the path. Writes are
// synchronous, as stderr to a file is, so lines keep their order and survive a crash.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

export class LogFile {
  readonly path: string;
  #fd: number;

  constructor(file: string) {
    this.path = file;
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.#fd = openSync(file, 'a', 0o600);
  }

  readonly write = (line: string): void => {
    try {
      writeSync(this.#fd, line);
    } catch {
      // A full or vanished disk must not stop the mount; stderr is the last resort.
      process.stderr.write(line);
    }
  };

  reopen(): void {
    mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
    const fresh = openSync(this.path, 'a', 0o600);
    const old = this.#fd;
    this.#fd = fresh;
    closeSync(old);
  }
}
