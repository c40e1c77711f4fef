// Does a bucket's spool folder hold what a mount that died left behind? A mount of every bucket
// asks this of each bucket at mount time, so crash recovery starts then (as a mount of that bucket
// alone would start it) and not at the bucket's first use. Folders of live mounts are theirs.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { holdsRecords } from './spool.js';
import { ownerAlive } from './spool-owner.js';

/** True when a folder below `bucketDir` whose owner is not running holds spool records or data. */
export async function spoolLeftovers(bucketDir: string): Promise<boolean> {
  const names = await fsp.readdir(bucketDir).catch(() => [] as string[]);
  for (const name of names) {
    if ((await ownerAlive(name)) === true) continue;
    if (await holdsRecords(path.join(bucketDir, name))) return true;
  }
  return false;
}
