// A mount of one bucket that a test unmounts and mounts again to prove what survives: the mountpoint
// changes at each remount, so paths are always built through `at()`, never kept across a remount.
// Cleanup stays with the session registry of mount-session.ts (unmountAll in afterAll).

import path from 'node:path';
import { mountBucket, type MountOptions, type MountSession } from './mount-session.js';

export class RemountableMount {
  readonly #options: MountOptions;
  #session: MountSession;

  private constructor(options: MountOptions, session: MountSession) {
    this.#options = options;
    this.#session = session;
  }

  static async mount(options: MountOptions): Promise<RemountableMount> {
    return new RemountableMount(options, await mountBucket(options));
  }

  /** The live mountpoint. */
  get dir(): string {
    return this.#session.dir;
  }

  /** `rel` below the live mountpoint. */
  at(rel: string): string {
    return path.join(this.#session.dir, rel);
  }

  /** Unmounts (uploads finish first) and mounts again on a fresh mountpoint: nothing cached survives. */
  async remount(): Promise<void> {
    await this.#session.unmount();
    this.#session = await mountBucket(this.#options);
  }
}
