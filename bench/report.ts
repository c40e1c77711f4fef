// Results as Markdown: per server and latency, the timing table (medians, each system's ratio to
// the SDK bound, bucketfs against s3fs and rclone), bucketfs's S3 requests by kind per workload
// (from its --debug log: where the time goes), and each daemon's peak RSS and CPU per GiB.
// Also merges a run's section into BENCHMARKS.md, keeping the sections of other scales.

import fs from 'node:fs';
import type { S3ServerKind } from '../test/support/s3-server.js';
import { NOT_FOUND, totalRequests, type RequestCounts } from './requests.js';
import { formatBytes } from './scale.js';
import { higherIsBetter, median, medianOutcome, ratio, type Outcome } from './stats.js';
import { SYSTEM_COMMANDS, SYSTEM_LABELS, type MountedSystemId, type SystemId } from './systems.js';
import type { MetricDef, Unit, WorkloadDef } from './workloads.js';

export interface ResourceSample {
  readonly metric: string;
  readonly peakRssBytes: number;
  /** CPU seconds per GiB moved, for the workloads that move bulk data. */
  readonly cpuSecondsPerGiB: number | undefined;
}

export interface RequestRun {
  readonly counts: RequestCounts;
  readonly outcome: Outcome;
}

/** Everything measured at one server and one added latency. */
export class ConfigResult {
  readonly outcomes = new Map<string, Map<SystemId, Outcome[]>>();
  readonly requests = new Map<string, RequestRun>();
  readonly resources = new Map<MountedSystemId, ResourceSample[]>();

  constructor(
    readonly server: S3ServerKind,
    readonly latencyMs: number,
  ) {}

  addOutcome(metric: string, system: SystemId, outcome: Outcome): void {
    const bySystem = this.outcomes.get(metric) ?? new Map<SystemId, Outcome[]>();
    bySystem.set(system, [...(bySystem.get(system) ?? []), outcome]);
    this.outcomes.set(metric, bySystem);
  }

  addResources(system: MountedSystemId, sample: ResourceSample): void {
    this.resources.set(system, [...(this.resources.get(system) ?? []), sample]);
  }
}

export interface ReportInput {
  readonly title: string;
  readonly note: string;
  readonly commandLine: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly machine: readonly string[];
  readonly runs: number;
  readonly timeoutSeconds: number;
  readonly systems: readonly SystemId[];
  readonly workloads: readonly WorkloadDef[];
  readonly results: readonly ConfigResult[];
}

function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 's':
      return value < 1 ? `${value.toFixed(3)} s` : value < 10 ? `${value.toFixed(2)} s` : `${value.toFixed(1)} s`;
    case 'MiB/s':
      return value < 100 ? `${value.toFixed(1)} MiB/s` : `${Math.round(value)} MiB/s`;
    case 'IOPS':
      return `${Math.round(value).toLocaleString('en-US')} IOPS`;
  }
}

function formatRatio(r: ReturnType<typeof ratio>): string {
  if (r === undefined) return '—';
  const n = r.value >= 100 ? Math.round(r.value).toString() : r.value >= 10 ? r.value.toFixed(1) : r.value.toFixed(2);
  return `${r.bound === 'atLeast' ? '> ' : r.bound === 'atMost' ? '< ' : ''}${n}×`;
}

/** Numbered footnotes for failures, shared by one table. */
class Notes {
  readonly #reasons: string[] = [];
  ref(reason: string): string {
    let i = this.#reasons.indexOf(reason);
    if (i < 0) i = this.#reasons.push(reason) - 1;
    return `[${i + 1}]`;
  }
  render(): string[] {
    return this.#reasons.map((r, i) => `[${i + 1}] ${r.replace(/\s+/g, ' ').slice(0, 400)}`);
  }
}

function formatOutcome(outcome: Outcome | undefined, unit: Unit, notes: Notes): string {
  if (outcome === undefined) return '';
  switch (outcome.kind) {
    case 'ok':
      return formatValue(outcome.value, unit);
    case 'timeout':
      return higherIsBetter(unit) ? `timeout (${outcome.afterSeconds} s)` : `> ${outcome.afterSeconds} s`;
    case 'failed':
      return `failed ${notes.ref(outcome.reason)}`;
    case 'skipped':
      return `not run ${notes.ref(outcome.reason)}`;
  }
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function configTitle(result: ConfigResult): string {
  const server = result.server === 'ceph' ? 'Ceph RGW' : 's3rver';
  return `${server}, ${result.latencyMs === 0 ? 'no added latency (direct)' : `${result.latencyMs} ms added each way`}`;
}

function timingTable(input: ReportInput, result: ConfigResult): string[] {
  const systems = input.systems;
  const mounted = systems.filter((s) => s !== 'sdk');
  const ratioColumns: { label: string; a: SystemId; b: SystemId }[] = [];
  if (systems.includes('sdk')) for (const s of mounted) ratioColumns.push({ label: `${SYSTEM_LABELS[s]} / SDK`, a: s, b: 'sdk' });
  if (systems.includes('bucketfs')) {
    for (const other of ['s3fs', 'rclone'] as const) {
      if (systems.includes(other)) ratioColumns.push({ label: `bucketfs / ${other}`, a: 'bucketfs', b: other });
    }
  }
  const notes = new Notes();
  const lines = [
    row(['workload', 'better', ...systems.map((s) => SYSTEM_LABELS[s]), ...ratioColumns.map((c) => c.label)]),
    row(['---', '---', ...systems.map(() => '---:'), ...ratioColumns.map(() => '---:')]),
  ];
  const metrics: MetricDef[] = input.workloads.flatMap((w) => [...w.metrics]);
  for (const metric of metrics) {
    const bySystem = result.outcomes.get(metric.id);
    if (bySystem === undefined) continue;
    const medians = new Map(systems.map((s) => [s, medianOutcome(bySystem.get(s) ?? [], metric.unit)] as const));
    lines.push(
      row([
        metric.label,
        higherIsBetter(metric.unit) ? `↑ ${metric.unit}` : '↓ time',
        ...systems.map((s) => formatOutcome(medians.get(s), metric.unit, notes)),
        ...ratioColumns.map((c) => formatRatio(ratio(medians.get(c.a), medians.get(c.b), metric.unit))),
      ]),
    );
  }
  const rendered = notes.render();
  return rendered.length > 0 ? [...lines, '', ...rendered.map((n) => `${n}  `)] : lines;
}

const REQUEST_ORDER = ['LIST', 'HEAD', 'GET', 'PUT', 'COPY', 'DELETE', 'DELETE-MANY', 'CREATE-UPLOAD', 'UPLOAD-PART', 'UPLOAD-PART-COPY', 'COMPLETE-UPLOAD', 'ABORT-UPLOAD'];

function requestTable(input: ReportInput, result: ConfigResult): string[] {
  const metrics = input.workloads.flatMap((w) => [...w.metrics]).filter((m) => result.requests.has(m.id));
  if (metrics.length === 0) return [];
  const seen = new Set<string>();
  for (const m of metrics) for (const op of result.requests.get(m.id)?.counts.keys() ?? []) seen.add(op);
  const ops = [...REQUEST_ORDER.filter((op) => seen.has(op)), ...[...seen].filter((op) => op !== NOT_FOUND && !REQUEST_ORDER.includes(op)).sort()];
  const notes = new Notes();
  const lines = [
    row(['workload', 'time (--debug run)', ...ops, 'total', 'of which 404']),
    row(['---', '---:', ...ops.map(() => '---:'), '---:', '---:']),
  ];
  for (const m of metrics) {
    const run = result.requests.get(m.id);
    if (run === undefined) continue;
    lines.push(
      row([
        m.label,
        formatOutcome(run.outcome, m.unit, notes),
        ...ops.map((op) => String(run.counts.get(op) ?? 0)),
        String(totalRequests(run.counts)),
        String(run.counts.get(NOT_FOUND) ?? 0),
      ]),
    );
  }
  const rendered = notes.render();
  return rendered.length > 0 ? [...lines, '', ...rendered.map((n) => `${n}  `)] : lines;
}

function resourceTable(input: ReportInput, result: ConfigResult): string[] {
  const systems = input.systems.filter((s): s is MountedSystemId => s !== 'sdk' && result.resources.has(s));
  if (systems.length === 0) return [];
  const bulk = input.workloads.flatMap((w) => [...w.metrics]).filter((m) => m.unit === 'MiB/s');
  const lines = [
    row(['system', 'peak daemon RSS (workload)', ...bulk.map((m) => `CPU s per GiB: ${m.id}`)]),
    row(['---', '---:', ...bulk.map(() => '---:')]),
  ];
  for (const system of systems) {
    const samples = result.resources.get(system) ?? [];
    const peak = samples.reduce<ResourceSample | undefined>((best, s) => (best === undefined || s.peakRssBytes > best.peakRssBytes ? s : best), undefined);
    const cpu = bulk.map((m) => {
      const value = median(samples.filter((s) => s.metric === m.id && s.cpuSecondsPerGiB !== undefined).map((s) => s.cpuSecondsPerGiB as number));
      return value === undefined ? '—' : value.toFixed(2);
    });
    lines.push(row([SYSTEM_LABELS[system], peak === undefined ? '—' : `${Math.round(peak.peakRssBytes / 2 ** 20)} MiB (${peak.metric})`, ...cpu]));
  }
  return lines;
}

export function renderSection(input: ReportInput): string {
  const out: string[] = [`## ${input.title}`, ''];
  if (input.note !== '') out.push(`**${input.note}**`, '');
  out.push(
    `- command: \`${input.commandLine}\``,
    `- date: ${input.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} to ${input.finishedAt.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    ...input.machine.map((m) => `- ${m}`),
    `- each value: median of ${input.runs} run${input.runs === 1 ? '' : 's'} on a fresh mount; each measurement gets ${input.timeoutSeconds} s, a write's wait for the bucket included (a system that times out or fails is not run again for that workload)`,
    '',
  );
  for (const result of input.results) {
    out.push(`### ${configTitle(result)}`, '', ...timingTable(input, result), '');
    const requests = requestTable(input, result);
    if (requests.length > 0) out.push(`S3 requests sent by bucketfs (one extra run with \`--debug\`):`, '', ...requests, '');
    const resources = resourceTable(input, result);
    if (resources.length > 0) out.push('Daemon resources (VmHWM and utime+stime from /proc, all timed runs):', '', ...resources, '');
  }
  return out.join('\n');
}

/** The methods, regenerated at the top of BENCHMARKS.md on every run. */
export function renderPreamble(workloads: readonly WorkloadDef[]): string {
  const lines = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (code in `bench/`; see the Benchmarks section of README.md). Each section',
    'below is the latest run of its kind; a run replaces only its own section.',
    '',
    '**How it measures.** One harness run starts each local S3 server (s3rver, Ceph RGW), fills a bucket',
    'once with the SDK (the folders and the big file the read workloads use), and for each added latency',
    '(a delaying TCP proxy on 127.0.0.1 that holds every chunk for D ms in each direction, order kept;',
    '0 ms = no proxy) runs every workload on every system, alternating systems within each run so drift',
    'hits all alike. Every mounted run uses a fresh mount (cold caches); the workload runs in a child',
    'process (real `ls`, `tar`, `rm`, and synchronous syscalls from node), killed with its tools when',
    'its time is up. Writes count until the data is in the bucket: the clock stops when the tool',
    'returns if the SDK (straight to the server) then sees every object with its size; otherwise at',
    'the start of the first SDK check that does (rclone returns from `close` before it uploads, after',
    'its default `--vfs-write-back` of 5 s). Each check also verifies the result, so a fast wrong',
    'answer is a failure, never a number. Ratios are value / reference in the row\'s unit: for times',
    'lower is better, for MiB/s and IOPS higher is better. The SDK bound is what a JavaScript program',
    'gets: with no latency, s3fs (C) can beat it where the work is many small requests, since each',
    'SDK request costs about a millisecond of CPU. The numbers come from a 2-core machine that may be',
    'shared: each section gives the load average; compare ratios within a section, not across sections.',
    '',
    'Which performance targets these runs meet, which they miss and why (with CPU profiles and the',
    'commands that made them): [docs/PERFORMANCE.md](docs/PERFORMANCE.md).',
    '',
    'Systems:',
    '',
    ...(Object.entries(SYSTEM_COMMANDS) as [MountedSystemId, (typeof SYSTEM_COMMANDS)[MountedSystemId]][]).map(
      ([id, { command, note }]) => `- ${SYSTEM_LABELS[id]}: \`${command}\` (${note})`,
    ),
    '- direct SDK: @aws-sdk/client-s3 in a node process, through the same proxy, doing the same work the best way (below).',
    '',
    '| workload | on a mount | direct-SDK bound |',
    '|---|---|---|',
    ...workloads.map((w) => row([w.id, w.onMount, w.sdkBound])),
    '',
    `Files are ${formatBytes(4096)} of pseudo-random bytes; the big file is pseudo-random; the tarball is a generated`,
    'source-like tree (about 20 files per folder, 100 B to 64 KiB), identical on every machine.',
    '',
  ];
  return lines.join('\n');
}

const sectionStart = (name: string) => `<!-- bench:section ${name} -->`;
const sectionEnd = (name: string) => `<!-- bench:end ${name} -->`;

/** Writes `section` into `file`: replaces the section of that name, keeps the others, renews the preamble. */
export function writeSection(file: string, name: string, preamble: string, section: string): void {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const sections = new Map<string, string>();
  const pattern = /<!-- bench:section ([a-z0-9-]+) -->\n([\s\S]*?)<!-- bench:end \1 -->/g;
  for (const m of old.matchAll(pattern)) sections.set(m[1] as string, m[2] as string);
  sections.set(name, `${section.trimEnd()}\n`);
  const body = [...sections].map(([n, text]) => `${sectionStart(n)}\n${text}${sectionEnd(n)}\n`).join('\n');
  fs.writeFileSync(file, `${preamble.trimEnd()}\n\n${body}`);
}
