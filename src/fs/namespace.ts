// Namespace: resolves paths to Nodes through the stat and negative caches, and lists directories.
// A directory is the root, a common prefix, or a `dir/` marker object; when a key and a prefix share
// a name the directory wins. Concurrent lookups of one path share one set of requests. Every local
// change must call invalidate() for what it touched, so the caches never contradict our own writes.

import type { ObjectStore } from '../s3/object-store.js';
import { TtlCache, NegativeCache } from '../cache/metadata-cache.js';
import { type FsPath, type Name, ROOT, childPath, dirPrefix, fileKey, isName } from './names.js';
import { type Node, ROOT_NODE, fromInfo, fromListing, needsHead } from './nodes.js';

export interface NamespaceOptions {
  readonly statTtlMs: number;
  readonly negativeTtlMs: number;
  readonly maxStatEntries: number;
  readonly now?: () => number;
}

export interface Listing {
  /** Valid names in byte order of their keys; a name is either a directory or a file. */
  readonly entries: readonly { readonly name: Name; readonly node: Node }[];
  /** Keys and prefixes that cannot be shown as names (see docs/SEMANTICS.md). */
  readonly hiddenCount: number;
}

export class Namespace {
  readonly #store: ObjectStore;
  readonly #stats: TtlCache<Node>;
  readonly #missing: NegativeCache;
  readonly #inFlight = new Map<FsPath, Promise<Node | undefined>>();
  /** Bumped by every invalidate(): a lookup that started before a change must not cache its answer. */
  #generation = 0;

  constructor(store: ObjectStore, options: NamespaceOptions) {
    this.#store = store;
    this.#stats = new TtlCache<Node>({ maxEntries: options.maxStatEntries, ttlMs: options.statTtlMs, now: options.now });
    this.#missing = new NegativeCache({ maxEntries: options.maxStatEntries, ttlMs: options.negativeTtlMs, now: options.now });
  }

  /** The node at `path`, or undefined when nothing is there. Always has the metadata stat needs. */
  async lookup(path: FsPath): Promise<Node | undefined> {
    if (path === ROOT) return ROOT_NODE;
    const cached = this.#stats.get(path);
    if (cached && !needsHead(cached)) return cached;
    if (!cached && this.#missing.has(path)) return undefined;
    let pending = this.#inFlight.get(path);
    if (!pending) {
      const generation = this.#generation;
      pending = (cached ? this.#complete(path, cached) : this.#resolve(path)).then((node) => {
        if (generation === this.#generation) this.remember(path, node);
        return node;
      });
      const clear = () => this.#inFlight.delete(path);
      pending.then(clear, clear);
      this.#inFlight.set(path, pending);
    }
    return pending;
  }

  /** Records what a lookup or a local change established about `path`. */
  remember(path: FsPath, node: Node | undefined): void {
    if (path === ROOT) return;
    if (node) {
      this.#stats.set(path, node);
      this.#missing.delete(path);
    } else {
      this.#stats.delete(path);
      this.#missing.set(path);
    }
  }

  /** Forgets what is known about `path` (and below it, with `recursive`). */
  invalidate(path: FsPath, recursive = false): void {
    this.#generation++;
    this.#stats.delete(path);
    this.#missing.delete(path);
    if (recursive) {
      const below = path === ROOT ? '/' : `${path}/`;
      this.#stats.deleteByPrefix(below);
      this.#missing.deleteByPrefix(below);
    }
  }

  /** Lists a directory page by page. Children are cached so the stat calls that follow are cheap. */
  async list(path: FsPath): Promise<Listing> {
    const prefix = dirPrefix(path);
    const dirs = new Set<string>();
    const files = new Map<string, Node>();
    const order: string[] = [];
    let hiddenCount = 0;
    let token: string | undefined;
    do {
      const page = await this.#store.listPage(prefix, '/', token);
      for (const p of page.prefixes) {
        const name = p.slice(prefix.length, -1);
        if (!isName(name)) {
          hiddenCount++;
        } else if (!dirs.has(name)) {
          dirs.add(name);
          order.push(name);
        }
      }
      for (const object of page.objects) {
        if (object.key === prefix) continue; // the directory's own marker
        const name = object.key.slice(prefix.length);
        if (!isName(name)) {
          hiddenCount++;
        } else if (!files.has(name)) {
          files.set(name, { kind: 'file', object: fromListing(object) });
          order.push(name);
        }
      }
      token = page.nextToken;
    } while (token);

    const entries: { name: Name; node: Node }[] = [];
    const seen = new Set<string>();
    for (const name of order) {
      if (seen.has(name)) continue;
      seen.add(name);
      const child = childPath(path, name as Name);
      let node: Node;
      if (dirs.has(name)) {
        const known = this.#stats.get(child);
        node = known?.kind === 'dir' ? known : { kind: 'dir', marker: undefined, markerKnown: false };
      } else {
        const listed = files.get(name) as Node & { kind: 'file' };
        const known = this.#stats.get(child);
        // Keep metadata from an earlier HEAD while the object is unchanged.
        node = known?.kind === 'file' && known.object.etag === listed.object.etag ? known : listed;
      }
      this.remember(child, node);
      entries.push({ name: name as Name, node });
    }
    if (dirs.size + files.size > entries.length) hiddenCount += files.size + dirs.size - entries.length;
    return { entries, hiddenCount };
  }

  async #resolve(path: FsPath): Promise<Node | undefined> {
    const key = fileKey(path);
    const [object, children] = await Promise.all([
      this.#store.head(key),
      this.#store.listPage(`${key}/`, '/', undefined, 1),
    ]);
    if (children.objects.length > 0 || children.prefixes.length > 0) {
      const hasMarker = children.objects[0]?.key === `${key}/`;
      return this.#complete(path, { kind: 'dir', marker: undefined, markerKnown: !hasMarker });
    }
    return object ? { kind: 'file', object: fromInfo(object) } : undefined;
  }

  /** Adds what only a HEAD tells (user metadata) to a node known from a listing. */
  async #complete(path: FsPath, node: Node): Promise<Node | undefined> {
    if (!needsHead(node)) return node;
    if (node.kind === 'dir') {
      const marker = await this.#store.head(dirPrefix(path));
      return { kind: 'dir', marker: marker ? fromInfo(marker) : undefined, markerKnown: true };
    }
    const info = await this.#store.head(node.object.key);
    // Gone since the listing: ask again from scratch (it may have become a directory).
    return info ? { kind: 'file', object: fromInfo(info) } : this.#resolve(path);
  }
}
