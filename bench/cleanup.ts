// Everything the harness starts registers how to undo it here: mounts (fusermount -u by mountpoint,
// then the daemon by PID), servers (by PID files), proxies, temp dirs. Undone in reverse order on a
// normal end, on a failure and on Ctrl-C/SIGTERM. A harness that was SIGKILLed leaves its run
// directory behind with its PID in the name: the next run reaps it (mounts detached, the daemons
// serving them killed by PID, its servers stopped) before starting anything.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, runTool } from '../test/support/mount-session.js';
import { reapStaleServers } from '../test/support/s3-server.js';

/** Where all runs keep their state: run-<pid>/ (mounts, data) and servers/ (one dir per server). */
export const BENCH_TMP = path.join(os.tmpdir(), 'bucketfs-bench');
export const SERVERS_DIR = path.join(BENCH_TMP, 'servers');
const STEP_TIMEOUT_MS = 90_000;

interface Step {
  readonly label: string;
  readonly undo: () => Promise<void>;
  /** Set once the undo has started; the step stays listed until it has finished. */
  done?: Promise<void>;
}

export class Cleanup {
  readonly #steps = new Map<number, Step>();
  #next = 0;
  #running: Promise<void> | undefined;

  /** True once runAll has begun: the harness starts nothing new and unwinds. */
  get closing(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Registers `undo`; the returned function runs it now (once). Registered while closing, it runs
   * at once, and runAll waits for it too.
   */
  add(label: string, undo: () => Promise<void>): () => Promise<void> {
    const id = this.#next++;
    this.#steps.set(id, { label, undo });
    const release = () => this.#start(id);
    if (this.closing) void release().catch(() => undefined);
    return release;
  }

  #start(id: number): Promise<void> {
    const step = this.#steps.get(id);
    if (step === undefined) return Promise.resolve();
    step.done ??= step.undo().finally(() => this.#steps.delete(id));
    return step.done;
  }

  /**
   * Undoes everything still registered, newest first, and waits for undos already under way; a
   * failing or hanging step does not stop the rest. `verbose` names each step as it finishes
   * (after a signal, so the user sees progress).
   */
  runAll(log: (line: string) => void, verbose = false): Promise<void> {
    this.#running ??= (async () => {
      while (this.#steps.size > 0) {
        for (const id of [...this.#steps.keys()].reverse()) {
          const step = this.#steps.get(id);
          if (step === undefined) continue;
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<void>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not finish in ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
          });
          const startedMs = Date.now();
          try {
            await Promise.race([this.#start(id), timeout]);
            if (verbose) log(`cleanup: ${step.label} (${((Date.now() - startedMs) / 1000).toFixed(1)} s)`);
          } catch (e) {
            log(`cleanup: ${step.label}: ${(e as Error).message}`);
            this.#steps.delete(id);
          } finally {
            clearTimeout(timer);
          }
        }
      }
    })();
    return this.#running;
  }
}

/** On Ctrl-C, SIGTERM or SIGHUP: undo everything, then exit 130. A second signal is ignored while cleaning. */
export function cleanOnSignals(cleanup: Cleanup, log: (line: string) => void): void {
  let cleaning = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (cleaning) return;
      cleaning = true;
      log(`\nbench: ${signal}: unmounting and stopping what this run started...`);
      void cleanup
        .runAll(log, true)
        .then(removeEmptyStateDirs)
        .finally(() => process.exit(130));
    });
  }
}

function mountPointsBelow(dir: string): string[] {
  const unescape = (m: string) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const below = `${dir}/`;
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .flatMap((line) => {
      const field = line.split(' ')[4];
      return field === undefined ? [] : [unescape(field)];
    })
    .filter((m) => m === dir || m.startsWith(below));
}

/** PIDs of live processes with an argument inside `dir` (its daemons name their mountpoint, workers the run dir). */
async function pidsReferring(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.promises.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await fs.promises.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg === dir || arg.startsWith(`${dir}/`))) pids.push(Number(entry));
  }
  return pids;
}

/** Kills by PID every process working in `dir` (daemons, workers), then detaches every mount below it. */
export async function detachMountsBelow(dir: string): Promise<void> {
  for (const pid of await pidsReferring(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const mountpoint of mountPointsBelow(dir)) await runTool('fusermount', ['-uz', mountpoint], { timeoutMs: 30_000 }).catch(() => undefined);
}

/** Deletes `dir` unless something below it is still mounted (a recursive delete would walk into the bucket). */
export function removeDirSafely(dir: string): void {
  const mounted = mountPointsBelow(dir);
  if (mounted.length > 0) throw new Error(`not deleting ${dir}: ${mounted.join(', ')} is still mounted`);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Reaps what runs that died without cleaning left behind (only those whose PID is gone). */
export async function reapStaleRuns(log: (line: string) => void): Promise<void> {
  reapStaleServers(SERVERS_DIR);
  if (!fs.existsSync(BENCH_TMP)) return;
  for (const entry of fs.readdirSync(BENCH_TMP)) {
    const m = /^run-(\d+)$/.exec(entry);
    if (!m || isAlive(Number(m[1]))) continue;
    const dir = path.join(BENCH_TMP, entry);
    log(`bench: cleaning up after a run that died (${dir})`);
    await detachMountsBelow(dir);
    removeDirSafely(dir);
  }
}

/** Removes the shared state folders when no run uses them any more (another run may be going on). */
export function removeEmptyStateDirs(): void {
  for (const dir of [SERVERS_DIR, BENCH_TMP]) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty (another run is going on) or already gone
    }
  }
}
