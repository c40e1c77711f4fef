// The workload catalog shared by the harness and the worker: what each workload does, what it
// measures (unit and which direction is better), and where in the bucket its data lives. Read-only
// workloads use data populated once per server; writing workloads get fresh names per run (`tag`),
// deleted after the run, so no system sees another's leftovers.

import { formatBytes, formatCount, type Scale } from './scale.js';

export const WORKLOAD_IDS = ['ls-big', 'ls-files', 'lstat', 'read-small', 'seq-read', 'par-read', 'rand-read', 'seq-write', 'creates', 'untar', 'rm-rf'] as const;
export type WorkloadId = (typeof WORKLOAD_IDS)[number];

/** `s` is elapsed time (lower is better); the rates are higher-is-better. */
export type Unit = 's' | 'MiB/s' | 'IOPS';

export interface MetricDef {
  readonly id: string;
  readonly label: string;
  readonly unit: Unit;
}

export interface WorkloadDef {
  readonly id: WorkloadId;
  readonly metrics: readonly MetricDef[];
  /** Its time runs until the SDK sees the result in the bucket (writes) rather than until the tool exits. */
  readonly durable: boolean;
  /** What a mounted system is asked to do, for the methods section. */
  readonly onMount: string;
  /** What the direct-SDK bound does instead. */
  readonly sdkBound: string;
}

/** Readers in the parallel-read workload, each reading its own quarter of the big file. */
export const PARALLEL_READERS = 4;
/** Read size of the sequential and parallel readers through a mount. */
export const READ_CHUNK_BYTES = 1024 * 1024;
/** Random read size. */
export const RANDOM_READ_BYTES = 4096;
/** Ranged GET size and GETs in flight for the SDK's sequential-read bound. */
export const SDK_RANGE_BYTES = 8 * 1024 * 1024;
export const SDK_RANGES_IN_FLIGHT = 8;
/** Multipart part size and parts in flight for the SDK's write bound. */
export const SDK_PART_BYTES = 16 * 1024 * 1024;
export const SDK_PARTS_IN_FLIGHT = 4;

/** Where the data lives in the bench bucket. */
export const LAYOUT = {
  bigFolder: 'ls-big',
  smallFolder: 'small',
  bigFile: 'big.bin',
  /** Names below the mount root and keys below the bucket root that one run of `workload` writes. */
  runPath(workload: WorkloadId, tag: string): string {
    switch (workload) {
      case 'seq-write':
        return `w-${tag}.bin`;
      case 'creates':
        return `c-${tag}`;
      case 'untar':
        return `u-${tag}`;
      case 'rm-rf':
        return `r-${tag}`;
      default:
        return '';
    }
  },
  smallName(i: number): string {
    return `f${String(i).padStart(5, '0')}`;
  },
  bigFolderName(i: number): string {
    return `o${String(i).padStart(6, '0')}`;
  },
};

/** Bytes of each object in the big folder: its size only matters to `ls -l`. */
export const BIG_FOLDER_OBJECT_BYTES = 128;

export function workloadDefs(scale: Scale): readonly WorkloadDef[] {
  const big = formatBytes(scale.bigFileBytes);
  const n = formatCount(scale.smallFiles);
  const small = formatBytes(scale.smallFileBytes);
  return [
    {
      id: 'ls-big',
      metrics: [
        { id: 'ls-big-cold', label: `\`ls -l\` of a folder of ${formatCount(scale.bigFolderObjects)} objects, cold`, unit: 's' },
        { id: 'ls-big-warm', label: `\`ls -l\` of a folder of ${formatCount(scale.bigFolderObjects)} objects, warm`, unit: 's' },
      ],
      durable: false,
      onMount: '`ls -l DIR` on a fresh mount, then again on the same mount (warm)',
      sdkBound: 'ListObjectsV2 pages with delimiter `/`, one after another (twice, the second on warm connections)',
    },
    {
      id: 'ls-files',
      metrics: [{ id: 'ls-files', label: `\`ls -l\` of ${n} files`, unit: 's' }],
      durable: false,
      onMount: '`ls -l DIR`',
      sdkBound: 'ListObjectsV2 pages with delimiter `/`',
    },
    {
      id: 'lstat',
      metrics: [{ id: 'lstat', label: `\`lstat\` of ${n} known names`, unit: 's' }],
      durable: false,
      onMount: '`lstat()` of each name, one after another, without listing the folder first',
      sdkBound: 'HeadObject of each key, one after another (a name-by-name stat cannot batch)',
    },
    {
      id: 'read-small',
      metrics: [{ id: 'read-small', label: `open/read/close ${n} files of ${small}`, unit: 's' }],
      durable: false,
      onMount: '`open()`, `read()` to EOF, `close()` of each file, one after another',
      sdkBound: 'GetObject of each key, one after another',
    },
    {
      id: 'seq-read',
      metrics: [{ id: 'seq-read', label: `sequential read of ${big}`, unit: 'MiB/s' }],
      durable: false,
      onMount: `\`read()\` of ${formatBytes(READ_CHUNK_BYTES)} at a time to EOF`,
      sdkBound: `ranged GETs of ${formatBytes(SDK_RANGE_BYTES)}, ${SDK_RANGES_IN_FLIGHT} in flight`,
    },
    {
      id: 'par-read',
      metrics: [{ id: 'par-read', label: `${PARALLEL_READERS} parallel readers of ${big} (a quarter each)`, unit: 'MiB/s' }],
      durable: false,
      onMount: `${PARALLEL_READERS} readers on their own file descriptors, each reading its quarter of the file sequentially`,
      sdkBound: `${PARALLEL_READERS} readers, each with ranged GETs of ${formatBytes(SDK_RANGE_BYTES)}, ${SDK_RANGES_IN_FLIGHT / PARALLEL_READERS} in flight`,
    },
    {
      id: 'rand-read',
      metrics: [{ id: 'rand-read', label: `random ${formatBytes(RANDOM_READ_BYTES)} reads of ${big}, ${scale.randomReadSeconds} s`, unit: 'IOPS' }],
      durable: false,
      onMount: '`pread()` at random aligned offsets (a fixed sequence), one at a time, from a cold mount; whatever the system caches (page cache, disk) serves repeats, as a user gets',
      sdkBound: 'ranged GETs of 4 KiB, one at a time',
    },
    {
      id: 'seq-write',
      metrics: [{ id: 'seq-write', label: `sequential write of ${big}, durable`, unit: 'MiB/s' }],
      durable: true,
      onMount: `\`write()\` of ${formatBytes(READ_CHUNK_BYTES)} at a time to a new file, \`close()\`; until the SDK sees the whole object`,
      sdkBound: `multipart upload (lib-storage), parts of ${formatBytes(SDK_PART_BYTES)}, ${SDK_PARTS_IN_FLIGHT} in flight`,
    },
    {
      id: 'creates',
      metrics: [{ id: 'creates', label: `${n} creates of ${small} files, durable`, unit: 's' }],
      durable: true,
      onMount: '`mkdir` of a new folder, then open/write/close of each file, one after another; until the SDK lists them all',
      sdkBound: 'PutObject of each key, one at a time',
    },
    {
      id: 'untar',
      metrics: [{ id: 'untar', label: `untar of ${formatCount(scale.tarFiles)} files, durable`, unit: 's' }],
      durable: true,
      onMount: '`tar --no-same-owner -xf TARBALL -C DIR` into a new folder; until the SDK lists every file with its size',
      sdkBound: 'PutObject of each file in tar order, one at a time',
    },
    {
      id: 'rm-rf',
      metrics: [{ id: 'rm-rf', label: `\`rm -rf\` of ${n} files`, unit: 's' }],
      durable: true,
      onMount: '`rm -rf DIR` of a folder of objects written by the SDK; until the SDK lists no key below it',
      sdkBound: 'ListObjectsV2 (no delimiter), DeleteObjects of each page of up to 1,000 keys',
    },
  ];
}
