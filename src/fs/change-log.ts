// ChangeLog: per-path invalidation for caches filled by slow remote calls. Every local change of a
// path gets a tick from one counter; a fetch remembers the tick it started at, and its answer may be
// cached only if neither its path nor any ancestor's subtree changed since. Changes are kept only as
// long as a fetch that started before them is still running (plus subtree changes for one cache
// lifetime), so the log stays small however many paths the mount touches.

import { type FsPath, parentOf, ROOT } from './names.js';

export class ChangeLog {
  #tick = 0;
  /** Path → tick of its last change, kept while an older fetch runs. */
  readonly #paths = new Map<FsPath, number>();
  /** Directory → tick and time of its last subtree change (rename or removal of a directory). */
  readonly #subtrees = new Map<FsPath, { tick: number; atMs: number }>();
  /** Start ticks of fetches in flight → how many started then. */
  readonly #fetches = new Map<number, number>();
  readonly #now: () => number;
  readonly #lifetimeMs: number;

  /** `lifetimeMs`: the longest any cache entry lives; subtree changes older than that are dropped. */
  constructor(lifetimeMs: number, now: () => number = () => performance.now()) {
    this.#lifetimeMs = lifetimeMs;
    this.#now = now;
  }

  /** The current tick: stamp a cache entry with it when it is filled from a local change. */
  get tick(): number {
    return this.#tick;
  }

  /** Records a change of `path` (and, with `subtree`, of everything below it). Returns its tick. */
  changed(path: FsPath, subtree = false): number {
    const tick = ++this.#tick;
    if (this.#fetches.size > 0) {
      this.#paths.set(path, tick);
      // The parent's listing changed too: a listing that started earlier must not be kept whole.
      if (path !== ROOT) this.#paths.set(parentOf(path), tick);
    }
    if (subtree) {
      this.#subtrees.set(path, { tick, atMs: this.#now() });
      this.#pruneSubtrees();
    }
    return tick;
  }

  /** Starts a fetch; call `done` when its answer is in (whatever the outcome). */
  startFetch(): { readonly tick: number; done(): void } {
    const tick = this.#tick;
    this.#fetches.set(tick, (this.#fetches.get(tick) ?? 0) + 1);
    let finished = false;
    return {
      tick,
      done: () => {
        if (finished) return;
        finished = true;
        const left = (this.#fetches.get(tick) ?? 1) - 1;
        if (left > 0) this.#fetches.set(tick, left);
        else this.#fetches.delete(tick);
        this.#prunePaths();
      },
    };
  }

  /** True when `path` itself changed after `tick`. */
  changedSince(path: FsPath, tick: number): boolean {
    return (this.#paths.get(path) ?? -1) > tick || this.subtreeChangedSince(path, tick);
  }

  /** Paths directly inside `dir` that changed after `tick` (while a fetch that started then ran). */
  changedChildrenSince(dir: FsPath, tick: number): FsPath[] {
    const out: FsPath[] = [];
    for (const [path, changedAt] of this.#paths) if (changedAt > tick && path !== dir && path !== ROOT && parentOf(path) === dir) out.push(path);
    return out;
  }

  /** True when `path` or an ancestor was invalidated as a whole after `tick`. */
  subtreeChangedSince(path: FsPath, tick: number): boolean {
    if (this.#subtrees.size === 0) return false;
    for (let p = path; ; p = parentOf(p)) {
      if ((this.#subtrees.get(p)?.tick ?? -1) > tick) return true;
      if (p === ROOT) return false;
    }
  }

  #prunePaths(): void {
    if (this.#fetches.size === 0) {
      this.#paths.clear();
      return;
    }
    const oldest = Math.min(...this.#fetches.keys());
    for (const [path, tick] of this.#paths) if (tick <= oldest) this.#paths.delete(path);
  }

  #pruneSubtrees(): void {
    const cutoff = this.#now() - this.#lifetimeMs;
    for (const [path, { atMs }] of this.#subtrees) if (atMs < cutoff) this.#subtrees.delete(path);
  }
}
