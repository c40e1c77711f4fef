// Namespace: resolves paths to Nodes through three caches — stat (path → Node), negative (path is
// missing) and listings (a directory's complete set of names) — and lists directories. A directory is
// the root, a common prefix, or a `dir/` marker object; when a key and a prefix share a name the
// directory wins. What a listing says is used: sizes, ETags and dates become stat entries, a name
// absent from a fresh complete listing is missing with no request, and when `ls -l` starts asking
// for listed entries one by one, the HEADs that read their s3fs metadata go out ahead of it, many at
// once. Invalidation is per path (ChangeLog): a fetch that started before a change of its path keeps
// its answer to itself, and every local change must call remember() or invalidate().
// Directories other tools made are recognised: an object without a trailing slash that s3fs's
// older versions marked as a directory (S_IFDIR mode, or application/x-directory), and Hadoop's
// `dir_$folder$` markers; those markers are remembered so rmdir and rename remove them too.
// Over 400 lines on purpose: the three caches and the fetches that fill them keep one set of
// freshness rules (ChangeLog ticks); split, a fetch could forget one of them.

import { TtlCache } from '../cache/metadata-cache.js';
import type { ObjectInfo, ObjectStore } from '../s3/object-store.js';
import { ChangeLog } from './change-log.js';
import { isDirectoryObject } from './metadata.js';
import { type FsPath, type Name, ROOT, baseName, childPath, dirPrefix, fileKey, isName, parentOf } from './names.js';
import { type Node, ROOT_NODE, fromInfo, fromListing, needsHead } from './nodes.js';

export interface NamespaceOptions {
  readonly statTtlMs: number;
  readonly negativeTtlMs: number;
  /** Stat entries at most; listings may hold as many names in total. */
  readonly maxStatEntries: number;
  readonly now?: () => number;
  /** HEADs sent at once to read the metadata of listed entries ahead of the stat calls. Default 32. */
  readonly headConcurrency?: number;
  /** Answer stat from listings alone: no HEAD for s3fs metadata (mode, owner, mtime, symlinks). */
  readonly statFromListing?: boolean;
}

export interface Listing {
  /** Valid names in byte order of their keys; a name is either a directory or a file. */
  readonly entries: readonly { readonly name: Name; readonly node: Node }[];
  /** Keys and prefixes that cannot be shown as names (see docs/SEMANTICS.md). */
  readonly hiddenCount: number;
}

type ListedKind = 'file' | 'dir' | 'unknown';

/** How long a name seen as both an object and a prefix keeps paying for the LIST that shows it as a directory. */
const SHADOWED_TTL_MS = 3_600_000;
/** Hadoop's (s3n, s3a) marker of an empty directory `dir`: the object `dir_$folder$`. */
const FOLDER_SUFFIX = '_$folder$';
/**
 * How many entries past the one the kernel last asked for the read-ahead may have its HEADs queued,
 * in headConcurrency units. Bounded so the answers are still fresh when the stat calls reach them
 * (a folder of 10,000 names read ahead at once outran `ls -l`, and its first answers expired after
 * --stat-ttl, to be sent again) and so the HEADs never crowd out the FUSE calls that pace them.
 */
const READ_AHEAD_WINDOW = 4;
/** Folders whose read-ahead is kept (the ones being walked now). */
const READ_AHEAD_FOLDERS = 64;

/** Everything a directory held when it was listed, kept current with this mount's own changes. */
interface DirListing {
  /** In listing order (names this mount added later at the end): metadata is read ahead in that order. */
  readonly names: Map<Name, ListedKind>;
  /** Direct metadata lookups of its entries so far; the second one starts the read-ahead. */
  lookups: number;
  hiddenCount: number;
}

/**
 * The read-ahead of one listed folder: its names in order, and how far HEADs have been queued. It
 * outlives the listing's --stat-ttl: the names only say what to ask next, the HEADs answer afresh,
 * and `ls -l` of a big folder takes longer than the TTL.
 */
interface ReadAhead {
  readonly order: readonly Name[];
  readonly indexOf: ReadonlyMap<Name, number>;
  /** Names before this index have had their HEAD queued (or needed none). */
  queuedUntil: number;
}

interface Stamped<T> {
  readonly value: T;
  /** ChangeLog tick the value was known at. */
  readonly tick: number;
}

/** A HEAD queued to read ahead: a direct lookup starts it at once instead of waiting its turn. */
interface Pending {
  readonly promise: Promise<Node | undefined>;
  start(): void;
}

export class Namespace {
  readonly #store: ObjectStore;
  readonly #stats: TtlCache<Stamped<Node>>;
  readonly #missing: TtlCache<Stamped<true>>;
  readonly #listings: TtlCache<Stamped<DirListing>>;
  /**
   * Names a listing showed as both an object and a prefix. A later lookup by path alone (the
   * listing expired, or TTL 0) pays the LIST that lets the directory win there too.
   */
  readonly #shadowed: TtlCache<true>;
  /** Directories a listing showed with a `dir_$folder$` marker: removed with the directory. */
  readonly #folderMarkers: TtlCache<string>;
  readonly #changes: ChangeLog;
  readonly #inFlight = new Map<FsPath, Pending>();
  readonly #listing = new Map<FsPath, Promise<Listing>>();
  readonly #statFromListing: boolean;
  readonly #headConcurrency: number;
  readonly #readAhead: (() => void)[] = [];
  /** By folder, oldest first. */
  readonly #aheads = new Map<FsPath, ReadAhead>();
  #readAheadRunning = 0;

  constructor(store: ObjectStore, options: NamespaceOptions) {
    this.#store = store;
    const now = options.now;
    this.#stats = new TtlCache({ maxEntries: options.maxStatEntries, ttlMs: options.statTtlMs, now });
    this.#missing = new TtlCache({ maxEntries: options.maxStatEntries, ttlMs: options.negativeTtlMs, now });
    this.#listings = new TtlCache<Stamped<DirListing>>({
      maxEntries: options.maxStatEntries,
      ttlMs: options.statTtlMs,
      now,
      weightOf: (l) => l.value.names.size + 1,
    });
    this.#shadowed = new TtlCache({ maxEntries: 10_000, ttlMs: SHADOWED_TTL_MS, now });
    this.#folderMarkers = new TtlCache({ maxEntries: 10_000, ttlMs: SHADOWED_TTL_MS, now });
    this.#changes = new ChangeLog(Math.max(options.statTtlMs, options.negativeTtlMs), now);
    this.#statFromListing = options.statFromListing ?? false;
    this.#headConcurrency = options.headConcurrency ?? 32;
  }

  /**
   * The node at `path`, or undefined when nothing is there. With `metadata` (stat, readlink,
   * xattrs) the node has its s3fs headers; without (unlink, rename, create) existence and kind do.
   */
  async lookup(path: FsPath, metadata = true): Promise<Node | undefined> {
    if (path === ROOT) return ROOT_NODE;
    const cached = this.#stat(path);
    if (cached && (!metadata || !this.#needsHead(cached))) {
      if (metadata) this.#advanceReadAhead(path);
      return cached;
    }
    if (!cached) {
      if (this.#isMissing(path)) return undefined;
      const listed = this.#listedKind(path);
      if (listed === 'absent') return undefined;
      if (listed === 'dir' && (!metadata || this.#statFromListing)) return this.#implicitDir();
    }
    if (metadata) this.#noteLookup(path);
    let pending = this.#inFlight.get(path);
    if (!pending) {
      pending = this.#fetch(path, () => (cached ? this.#complete(path, cached) : this.#resolve(path)));
      this.#inFlight.set(path, pending);
    }
    pending.start();
    return pending.promise;
  }

  /** Records what a local change established about `path`. */
  remember(path: FsPath, node: Node | undefined): void {
    if (path === ROOT) return;
    const tick = this.#changes.changed(path);
    this.#inFlight.delete(path);
    // What a local change made of `path` replaced any marker another tool left there.
    this.#folderMarkers.delete(path);
    if (node) {
      this.#stats.set(path, { value: node, tick });
      this.#missing.delete(path);
    } else {
      this.#stats.delete(path);
      this.#missing.set(path, { value: true, tick });
    }
    this.#setListed(path, node ? node.kind : undefined);
  }

  /** Forgets what is known about `path` (and below it, with `recursive`). */
  invalidate(path: FsPath, recursive = false): void {
    this.#changes.changed(path, recursive);
    this.#inFlight.delete(path);
    this.#stats.delete(path);
    this.#missing.delete(path);
    if (recursive) this.#listings.delete(path);
    if (path !== ROOT) this.#setListed(path, 'unknown');
  }

  /** A directory this mount has just made holds nothing: lookups inside it need no request. */
  rememberEmptyDir(path: FsPath): void {
    const listing: DirListing = { names: new Map(), lookups: 0, hiddenCount: 0 };
    this.#listings.set(path, { value: listing, tick: this.#changes.tick });
  }

  /** Subdirectories a fresh listing of `dir` shows; undefined when there is none. */
  subdirCount(dir: FsPath): number | undefined {
    const listing = this.#listingOf(dir);
    if (!listing) return undefined;
    let count = 0;
    for (const kind of listing.names.values()) if (kind === 'dir') count++;
    return count;
  }

  /**
   * Keys of markers other tools left for the directory `path` that are not our `dir/` marker: an
   * old s3fs directory object `dir` (from `known`, else the cached node) and a Hadoop `dir_$folder$`.
   */
  legacyMarkerKeys(path: FsPath, known?: Node): string[] {
    const keys: string[] = [];
    const node = known ?? this.#stat(path);
    if (node?.kind === 'dir' && node.marker && node.marker.key !== dirPrefix(path)) keys.push(node.marker.key);
    const folder = this.#folderMarkers.get(path);
    if (folder !== undefined) keys.push(folder);
    return keys;
  }

  /** Names a fresh complete listing of `dir` holds; -1 when there is none. */
  listedNames(dir: FsPath): number {
    return this.#listingOf(dir)?.names.size ?? -1;
  }

  /** Drops every cached answer (SIGHUP, or tests). */
  clear(): void {
    this.#changes.changed(ROOT, true);
    this.#stats.clear();
    this.#missing.clear();
    this.#listings.clear();
    this.#aheads.clear();
    this.#shadowed.clear();
    this.#folderMarkers.clear();
    this.#inFlight.clear();
  }

  /**
   * Lists a directory: from its fresh listing when there is one, else page by page. Children are
   * cached, so the stat calls that follow need at most the HEAD that reads their metadata.
   */
  async list(path: FsPath): Promise<Listing> {
    const cached = this.#listingOf(path);
    if (cached) {
      const fresh = new Map<Name, Node>();
      await this.#decide(path, cached, fresh);
      return this.#entriesOf(path, cached, fresh);
    }
    let running = this.#listing.get(path);
    if (!running) {
      running = this.#fetchListing(path).finally(() => this.#listing.delete(path));
      this.#listing.set(path, running);
    }
    return running;
  }

  // ---- caches ----

  #stat(path: FsPath): Node | undefined {
    return this.#fresh(this.#stats, path);
  }

  #isMissing(path: FsPath): boolean {
    return this.#fresh(this.#missing, path) !== undefined;
  }

  /** Neither a stat entry nor a "missing" one says what is at `path`. */
  #unknown(path: FsPath): boolean {
    return this.#stat(path) === undefined && !this.#isMissing(path);
  }

  #listingOf(dir: FsPath): DirListing | undefined {
    return this.#fresh(this.#listings, dir);
  }

  /** A cached value, unless a directory above it (or it) was invalidated as a whole since. */
  #fresh<T>(cache: TtlCache<Stamped<T>>, path: FsPath): T | undefined {
    const entry = cache.get(path);
    if (!entry) return undefined;
    if (this.#changes.subtreeChangedSince(path, entry.tick)) {
      cache.delete(path);
      return undefined;
    }
    return entry.value;
  }

  /** What the parent's fresh listing says of `path`; undefined when it cannot tell. */
  #listedKind(path: FsPath): ListedKind | 'absent' | undefined {
    const listing = this.#listingOf(parentOf(path));
    if (!listing) return undefined;
    const kind = listing.names.get(baseName(path));
    if (kind === undefined) return 'absent';
    return kind === 'unknown' ? undefined : kind;
  }

  #setListed(path: FsPath, kind: ListedKind | undefined): void {
    const listing = this.#listingOf(parentOf(path));
    if (!listing) return;
    const name = baseName(path);
    if (kind === undefined) listing.names.delete(name);
    else listing.names.set(name, kind);
  }

  #needsHead(node: Node): boolean {
    return !this.#statFromListing && needsHead(node);
  }

  #implicitDir(): Node {
    return { kind: 'dir', marker: undefined, markerKnown: this.#statFromListing };
  }

  // ---- fetching ----

  /** A shared fetch of `path` whose answer is cached unless `path` changed while it ran. */
  #fetch(path: FsPath, work: () => Promise<Node | undefined>, queued = false): Pending {
    let started = false;
    let begin: () => void = () => undefined;
    const promise = new Promise<Node | undefined>((resolve, reject) => {
      begin = () => {
        if (started) return;
        started = true;
        const fetch = this.#changes.startFetch();
        work()
          .then((node) => {
            if (!this.#changes.changedSince(path, fetch.tick)) this.#cache(path, node, fetch.tick);
            resolve(node);
          }, reject)
          .finally(() => {
            fetch.done();
            if (this.#inFlight.get(path) === pending) this.#inFlight.delete(path);
          });
      };
    });
    const pending: Pending = { promise, start: () => begin() };
    if (!queued) begin();
    return pending;
  }

  #cache(path: FsPath, node: Node | undefined, tick: number): void {
    if (node) {
      this.#stats.set(path, { value: node, tick });
      this.#missing.delete(path);
      // A listed object that its headers show to be a directory counts as one (nlink, lookups).
      if (node.kind === 'dir' && this.#listedKind(path) === 'file') this.#setListed(path, 'dir');
    } else {
      this.#stats.delete(path);
      this.#missing.set(path, { value: true, tick });
    }
  }

  /**
   * The directory at `path`, looked up past a file of that name that the caller does not show (its
   * delete is pending): only a LIST can tell. Not cached.
   */
  async dirBehind(path: FsPath): Promise<Node | undefined> {
    if (this.#listedKind(path) === 'dir') return this.#implicitDir();
    return this.#dirAt(path);
  }

  /**
   * A name no listing covers: HEAD first. Only when no object has the name — or an empty one,
   * which tools leave as a folder placeholder — does a one-key LIST ask whether it is a directory.
   */
  async #resolve(path: FsPath): Promise<Node | undefined> {
    const key = fileKey(path);
    const object = await this.#store.head(key);
    if (object && isDirectoryObject(object.contentType, object.metadata)) return legacyDir(object);
    if (object && object.sizeBytes > 0 && this.#shadowed.get(path) === undefined) return { kind: 'file', object: fromInfo(object) };
    const dir = await this.#dirAt(path);
    if (dir) return dir;
    return object ? { kind: 'file', object: fromInfo(object) } : undefined;
  }

  /** A one-key LIST of `path/`: the directory there (with its marker's metadata), if any. */
  async #dirAt(path: FsPath): Promise<Node | undefined> {
    const key = fileKey(path);
    const children = await this.#store.listPage(`${key}/`, '/', undefined, 1);
    if (children.objects.length === 0 && children.prefixes.length === 0) {
      // An empty Hadoop directory: only a listing of its parent shows its `dir_$folder$` marker.
      return this.#folderMarkers.get(path) === undefined ? undefined : { kind: 'dir', marker: undefined, markerKnown: true };
    }
    const hasMarker = children.objects[0]?.key === `${key}/`;
    const dir: Node = { kind: 'dir', marker: undefined, markerKnown: !hasMarker || this.#statFromListing };
    return this.#complete(path, dir);
  }

  /** Adds what only a HEAD tells (user metadata) to a node known from a listing. */
  async #complete(path: FsPath, node: Node): Promise<Node | undefined> {
    if (!this.#needsHead(node)) return node;
    if (node.kind === 'dir') {
      const marker = await this.#store.head(dirPrefix(path));
      if (marker) return { kind: 'dir', marker: fromInfo(marker), markerKnown: true };
      // Listed as both an object and a prefix: the object may be an old s3fs directory object.
      const object = this.#shadowed.get(path) === undefined ? undefined : await this.#store.head(fileKey(path));
      if (object && isDirectoryObject(object.contentType, object.metadata)) return legacyDir(object);
      return { kind: 'dir', marker: undefined, markerKnown: true };
    }
    const info = await this.#store.head(node.object.key);
    if (info && isDirectoryObject(info.contentType, info.metadata)) return legacyDir(info);
    // Gone since the listing: ask again from scratch (it may have become a directory).
    return info ? { kind: 'file', object: fromInfo(info) } : this.#resolve(path);
  }

  /**
   * A stat call asked for a listed entry's metadata. `ls -l` and `rm -rf` go through a listing in
   * order, one entry at a time: from the second such call on, HEADs for the entries after it go out
   * ahead, headConcurrency at once, so each stat finds its answer ready.
   */
  #noteLookup(path: FsPath): void {
    const dir = parentOf(path);
    if (!this.#aheads.has(dir)) {
      const listing = this.#listingOf(dir);
      if (!listing || ++listing.lookups < 2) return;
      const order = [...listing.names.keys()];
      this.#aheads.set(dir, { order, indexOf: new Map(order.map((name, i) => [name, i])), queuedUntil: 0 });
      if (this.#aheads.size > READ_AHEAD_FOLDERS) this.#aheads.delete(this.#aheads.keys().next().value as FsPath);
    }
    this.#advanceReadAhead(path);
  }

  /** Queues the HEADs of the entries up to a window past `path`, once its folder reads ahead. */
  #advanceReadAhead(path: FsPath): void {
    const dir = parentOf(path);
    const ahead = this.#aheads.get(dir);
    const at = ahead?.indexOf.get(baseName(path));
    if (!ahead || at === undefined) return;
    const until = Math.min(ahead.order.length, at + 1 + READ_AHEAD_WINDOW * this.#headConcurrency);
    for (let i = Math.max(ahead.queuedUntil, at + 1); i < until; i++) {
      const child = childPath(dir, ahead.order[i] as Name);
      if (this.#inFlight.has(child)) continue;
      const node = this.#stat(child);
      if (node ? !this.#needsHead(node) : this.#isMissing(child) || this.#listedKind(child) === 'absent') continue;
      // Past the listing's TTL the name is asked afresh, as a lookup of it would.
      const pending = this.#fetch(child, () => (node ? this.#complete(child, node) : this.#resolve(child)), true);
      this.#inFlight.set(child, pending);
      this.#readAhead.push(() => pending.start());
      pending.promise.catch(() => undefined);
      void pending.promise.finally(() => this.#readAheadDone()).catch(() => undefined);
    }
    ahead.queuedUntil = Math.max(ahead.queuedUntil, until);
    this.#pumpReadAhead();
  }

  #pumpReadAhead(): void {
    while (this.#readAheadRunning < this.#headConcurrency && this.#readAhead.length > 0) {
      this.#readAheadRunning++;
      (this.#readAhead.shift() as () => void)();
    }
  }

  #readAheadDone(): void {
    this.#readAheadRunning--;
    this.#pumpReadAhead();
  }

  async #fetchListing(path: FsPath): Promise<Listing> {
    const fetch = this.#changes.startFetch();
    try {
      const { listing, files } = await this.#readPages(path);
      // A new listing, a new order to read ahead in (from its second lookup on).
      this.#aheads.delete(path);
      // Names this mount made while the pages came in are not in them yet: what the change says stands.
      for (const child of this.#changes.changedChildrenSince(path, fetch.tick)) {
        const name = baseName(child);
        if (!listing.names.has(name)) listing.names.set(name, 'unknown');
      }
      const fresh = new Map<Name, Node>();
      for (const name of listing.names.keys()) {
        const child = childPath(path, name);
        if (this.#changes.changedSince(child, fetch.tick)) {
          listing.names.set(name, 'unknown');
          continue;
        }
        const node = this.#listedNode(child, listing, files);
        this.#cache(child, node, fetch.tick);
        fresh.set(name, node);
      }
      // Names this mount created, deleted or renamed while the pages came in: the listing's view of
      // them is stale, so lookups of those ask again.
      if (!this.#changes.subtreeChangedSince(path, fetch.tick)) this.#listings.set(path, { value: listing, tick: fetch.tick });
      await this.#decide(path, listing, fresh);
      return this.#entriesOf(path, listing, fresh);
    } finally {
      fetch.done();
    }
  }

  /** Every page of a directory's listing: its names (directories win), and the files' nodes. */
  async #readPages(path: FsPath): Promise<{ listing: DirListing; files: Map<Name, Node> }> {
    const prefix = dirPrefix(path);
    const listing: DirListing = { names: new Map(), lookups: 0, hiddenCount: 0 };
    const files = new Map<Name, Node>();
    let token: string | undefined;
    do {
      const page = await this.#store.listPage(prefix, '/', token);
      // Folders and files in one key order, as the bucket sorts them.
      const items = [
        ...page.prefixes.map((p) => ({ name: p.slice(prefix.length, -1), object: undefined })),
        ...page.objects.filter((o) => o.key !== prefix).map((o) => {
          const name = o.key.slice(prefix.length);
          if (!name.endsWith(FOLDER_SUFFIX)) return { name, object: o };
          const dirName = name.slice(0, -FOLDER_SUFFIX.length);
          if (isName(dirName)) this.#folderMarkers.set(childPath(path, dirName), o.key);
          return { name: dirName, object: undefined };
        }),
      ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const { name, object } of items) {
        if (!isName(name)) listing.hiddenCount++;
        else if (!object) this.#addListed(path, listing, name, 'dir');
        else if (this.#addListed(path, listing, name, 'file')) files.set(name, { kind: 'file', object: fromListing(object) });
      }
      token = page.nextToken;
    } while (token);
    return { listing, files };
  }

  /** The node a listing shows at `child`, keeping what an earlier HEAD of the same version told. */
  #listedNode(child: FsPath, listing: DirListing, files: ReadonlyMap<Name, Node>): Node {
    const name = baseName(child);
    const known = this.#stat(child);
    if (listing.names.get(name) === 'dir') return known?.kind === 'dir' ? known : this.#implicitDir();
    const listed = files.get(name) as Node & { kind: 'file' };
    const { key, etag } = listed.object;
    // Keep metadata from an earlier HEAD while the object is unchanged, also one that showed the
    // object to be a directory.
    if (known?.kind === 'dir' && known.marker?.key === key && known.marker.etag === etag) {
      listing.names.set(name, 'dir');
      return known;
    }
    return known?.kind === 'file' && known.object.etag === etag ? known : listed;
  }


  /**
   * Names a local change left undecided are looked up (few, and in parallel) before they are shown;
   * what the lookups find goes into `fresh`, which serves even where the stat cache keeps nothing.
   */
  async #decide(dir: FsPath, listing: DirListing, fresh: Map<Name, Node>): Promise<void> {
    const undecided = [...listing.names].filter(([name, kind]) => kind === 'unknown' && !fresh.has(name) && this.#unknown(childPath(dir, name)));
    await Promise.all(
      undecided.map(async ([name]) => {
        const node = await this.lookup(childPath(dir, name), false);
        if (node) fresh.set(name, node);
      }),
    );
  }

  /** Adds a listed name (the directory wins over a file of the same name); false if already known. */
  #addListed(dir: FsPath, listing: DirListing, name: Name, kind: 'file' | 'dir'): boolean {
    const known = listing.names.get(name);
    if (known === undefined) {
      listing.names.set(name, kind);
      return true;
    }
    // A prefix and a `name_$folder$` marker: one directory.
    if (known === 'dir' && kind === 'dir') return false;
    if (kind === 'dir') listing.names.set(name, 'dir');
    listing.hiddenCount++;
    this.#shadowed.set(childPath(dir, name), true);
    return false;
  }

  /** The listing's entries; `fresh` (nodes just listed) serves where the stat cache keeps nothing (TTL 0). */
  #entriesOf(path: FsPath, listing: DirListing, fresh?: ReadonlyMap<Name, Node>): Listing {
    const entries: { name: Name; node: Node }[] = [];
    for (const [name, kind] of listing.names) {
      const child = childPath(path, name);
      const node = this.#stat(child) ?? fresh?.get(name);
      if (node) entries.push({ name, node });
      else if (kind === 'dir') entries.push({ name, node: this.#implicitDir() });
      else if (kind === 'file') entries.push({ name, node: unknownFile(fileKey(child)) });
    }
    return { entries, hiddenCount: listing.hiddenCount };
  }
}

/** A directory stored as an object without a trailing slash: that object stands as its marker. */
function legacyDir(object: ObjectInfo): Node {
  return { kind: 'dir', marker: fromInfo(object), markerKnown: true };
}

/** A listed file whose stat entry has expired: its type is told by the stat call that follows. */
function unknownFile(key: string): Node {
  return { kind: 'file', object: { key, sizeBytes: 0, etag: '', lastModified: new Date(0), metadata: undefined, contentType: undefined } };
}
