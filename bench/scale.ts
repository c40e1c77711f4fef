// How big each workload is: the full issue-7 sizes, or a quick scale that gives a developer a table
// in minutes. Every label in the report is derived from these numbers, so a quick table can never
// be mistaken for a full one.

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Scale {
  readonly name: 'full' | 'quick';
  /** Objects in the folder that `ls -l` lists cold and warm. */
  readonly bigFolderObjects: number;
  /** Files for `ls -l`, lstat, open/read/close, creates and `rm -rf`. */
  readonly smallFiles: number;
  /** Size of each of those files, bytes. */
  readonly smallFileBytes: number;
  /** Files in the generated tarball (in about one folder per 20 files). */
  readonly tarFiles: number;
  /** The object read sequentially, by 4 readers and at random; also the size written. */
  readonly bigFileBytes: number;
  /** How long the random 4 KiB reads run, seconds. */
  readonly randomReadSeconds: number;
}

export const FULL_SCALE: Scale = {
  name: 'full',
  bigFolderObjects: 10_000,
  smallFiles: 1_000,
  smallFileBytes: 4 * KiB,
  tarFiles: 3_411,
  bigFileBytes: 1024 * MiB,
  randomReadSeconds: 20,
};

export const QUICK_SCALE: Scale = {
  name: 'quick',
  bigFolderObjects: 1_000,
  smallFiles: 200,
  smallFileBytes: 4 * KiB,
  tarFiles: 682,
  bigFileBytes: 64 * MiB,
  randomReadSeconds: 5,
};

/** `1024 MiB` → "1 GiB", `64 MiB` → "64 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * MiB && bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

/** 10000 → "10,000". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
