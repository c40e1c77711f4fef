// The harness's command line (`npm run bench -- OPTIONS`): which servers, latencies, systems and
// workloads, how many runs, at which scale, and where the table goes. Defaults give the full
// issue-7 table; bad input is one line and exit code 2.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { S3ServerKind } from '../test/support/s3-server.js';
import { FULL_SCALE, QUICK_SCALE, type Scale } from './scale.js';
import { SYSTEM_IDS, type SystemId } from './systems.js';
import { WORKLOAD_IDS, type WorkloadId } from './workloads.js';

export interface BenchOptions {
  readonly servers: readonly S3ServerKind[];
  /** Delay added in each direction, ms. */
  readonly latenciesMs: readonly number[];
  readonly systems: readonly SystemId[];
  readonly workloads: readonly WorkloadId[];
  readonly runs: number;
  readonly scale: Scale;
  /** Per-workload bound, s: a run that has not finished by then is recorded as a timeout. */
  readonly timeoutSeconds: number;
  /** One extra bucketfs run per workload with --debug, to count its S3 requests. */
  readonly countRequests: boolean;
  /** Ceph's object store: RAM (quick, bounded) or a sparse file on disk. */
  readonly cephStore: 'memstore' | 'bluestore';
  /** Markdown file the table goes to ('' for none), and the section of it this run replaces. */
  readonly out: string;
  readonly section: string;
  /** A line printed above the tables, e.g. which code this measures. */
  readonly note: string;
  /** The command line, as recorded in the output. */
  readonly commandLine: string;
}

export class UsageError extends Error {}

function commandLine(args: readonly string[]): string {
  const quoted = args.map((a) => (/^[\w,.=/:-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  return quoted.length === 0 ? 'npm run bench' : `npm run bench -- ${quoted.join(' ')}`;
}

function list<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`--${name} needs at least one of ${allowed.join(', ')}`);
  for (const item of items) if (!allowed.includes(item as T)) throw new UsageError(`--${name}: '${item}' is not one of ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

export async function parseOptions(argv: readonly string[]): Promise<BenchOptions> {
  const args = await yargs(hideBin([...argv]))
    .scriptName('npm run bench --')
    .usage('$0 [options]\n\nbucketfs, s3fs, rclone and the direct-SDK bound side by side on local S3 servers (issue 7).')
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .option('servers', { type: 'string', default: 's3rver,ceph', describe: 'S3 servers: s3rver, ceph' })
    .option('latency', { type: 'string', default: '0,10', describe: 'ms added each way by a delaying proxy (0 = direct)' })
    .option('systems', { type: 'string', default: SYSTEM_IDS.join(','), describe: `systems: ${SYSTEM_IDS.join(', ')}` })
    .option('workloads', { type: 'string', default: WORKLOAD_IDS.join(','), describe: `workloads: ${WORKLOAD_IDS.join(', ')}` })
    .option('runs', { type: 'number', default: 3, describe: 'runs per measurement (the table shows the median)' })
    .option('quick', { type: 'boolean', default: false, describe: `small scale: ${QUICK_SCALE.bigFileBytes / 2 ** 20} MiB files, ${QUICK_SCALE.bigFolderObjects} objects, ${QUICK_SCALE.smallFiles} small files` })
    .option('timeout', { type: 'number', default: 120, describe: 'seconds per workload run before it is recorded as a timeout' })
    .option('count-requests', { type: 'boolean', default: true, describe: 'an extra bucketfs --debug run per workload to count S3 requests' })
    .option('ceph-store', { choices: ['memstore', 'bluestore'] as const, default: 'memstore' as const, describe: "Ceph's object store" })
    .option('out', { type: 'string', default: 'BENCHMARKS.md', describe: "Markdown file to write ('' for none)" })
    .option('section', { type: 'string', describe: 'section of --out this run replaces (default: quick or full)' })
    .option('note', { type: 'string', default: '', describe: 'a line shown above the tables' })
    .strict()
    .help()
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    })
    .parseAsync();

  const latenciesMs = String(args.latency)
    .split(',')
    .map((s) => Number(s.trim()));
  if (latenciesMs.length === 0 || latenciesMs.some((ms) => !Number.isInteger(ms) || ms < 0 || ms > 1000)) {
    throw new UsageError(`--latency '${args.latency}' must be whole milliseconds from 0 to 1000, comma-separated`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1 || args.runs > 100) throw new UsageError('--runs must be a whole number from 1 to 100');
  if (!Number.isFinite(args.timeout) || args.timeout < 5) throw new UsageError('--timeout must be at least 5 seconds');
  const scale = args.quick ? QUICK_SCALE : FULL_SCALE;
  const section = args.section ?? scale.name;
  if (!/^[a-z0-9-]+$/.test(section)) throw new UsageError(`--section '${section}' must be lower-case letters, digits and '-'`);
  return {
    servers: list('servers', String(args.servers), ['s3rver', 'ceph'] as const),
    latenciesMs: [...new Set(latenciesMs)],
    systems: list('systems', String(args.systems), SYSTEM_IDS),
    workloads: list('workloads', String(args.workloads), WORKLOAD_IDS),
    runs: args.runs,
    scale,
    timeoutSeconds: args.timeout,
    countRequests: args['count-requests'],
    cephStore: args['ceph-store'],
    out: args.out,
    section,
    note: args.note,
    commandLine: commandLine(hideBin([...argv])),
  };
}
