// UploadState: what the bucket lacks of one open file, as a state machine with a type, so a wrong
// combination (an unlinked file waiting to upload, an upload clearing changes it did not carry)
// cannot be written. Every change bumps a version; an upload takes a Snapshot when it starts and
// makes the file clean only if no change came while it ran. Attribute changes (chmod, utimens,
// xattrs) count separately too, so a multipart upload created before them knows to rewrite the
// headers after it completes.

/** What an upload must send: the content (and headers), or only the headers (a self-copy). */
export type Pending = 'content' | 'headers';

export type UploadStateKind =
  /** The bucket has exactly this version. */
  | { readonly kind: 'clean' }
  /** Changed since the bucket's version. */
  | { readonly kind: 'dirty'; readonly pending: Pending }
  /** The name is gone (unlink, or a rename replaced it): never uploads again. */
  | { readonly kind: 'unlinked' };

/** What an upload started from: the version it carries, and the header changes made before it. */
export interface Snapshot {
  readonly version: number;
  readonly pending: Pending;
  readonly headerChanges: number;
}

export class UploadState {
  #state: UploadStateKind;
  #version = 0;
  #headerChanges = 0;

  /** `pending`: what a new file (or a truncated or restored one) already owes the bucket. */
  constructor(pending: Pending | undefined, version = 0) {
    this.#state = pending === undefined ? { kind: 'clean' } : { kind: 'dirty', pending };
    this.#version = version;
  }

  get state(): UploadStateKind {
    return this.#state;
  }

  /** Bumped by every change: records and write-back compare it. */
  get version(): number {
    return this.#version;
  }

  /** Header changes (chmod, chown, utimens, xattrs) so far. */
  get headerChanges(): number {
    return this.#headerChanges;
  }

  get dirty(): boolean {
    return this.#state.kind === 'dirty';
  }

  get unlinked(): boolean {
    return this.#state.kind === 'unlinked';
  }

  /** The content (not only the headers) differs from the bucket. */
  get contentDirty(): boolean {
    return this.#state.kind === 'dirty' && this.#state.pending === 'content';
  }

  /** Bytes or size changed. */
  contentChanged(): void {
    this.#version++;
    if (this.#state.kind !== 'unlinked') this.#state = { kind: 'dirty', pending: 'content' };
  }

  /** Only the headers changed. */
  headersChanged(): void {
    this.#version++;
    this.#headerChanges++;
    if (this.#state.kind === 'clean') this.#state = { kind: 'dirty', pending: 'headers' };
  }

  markUnlinked(): void {
    this.#state = { kind: 'unlinked' };
  }

  /** An upload starts: what it must carry. Only a dirty file uploads. */
  snapshot(): Snapshot {
    if (this.#state.kind !== 'dirty') throw new Error(`an upload of a ${this.#state.kind} file`);
    return { version: this.#version, pending: this.#state.pending, headerChanges: this.#headerChanges };
  }

  /** The upload of `snapshot` is in the bucket: clean, unless a change came meanwhile. */
  uploaded(snapshot: Snapshot): void {
    if (this.#state.kind === 'dirty' && this.#version === snapshot.version) this.#state = { kind: 'clean' };
  }
}
