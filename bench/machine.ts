// The machine side: installing what the selected systems need (Debian packages, only as root with
// apt-get; otherwise one line naming what is missing), and describing the machine and the versions
// measured, so a table can be reproduced and compared.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { REPO_ROOT } from '../test/support/mount-session.js';
import { SYSTEM_TOOLS, type SystemId } from './systems.js';

const BASE_TOOLS = [
  { command: 'tar', aptPackage: 'tar' },
  { command: 'getconf', aptPackage: 'libc-bin' },
];

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure the commands the selected systems need exist, installing their Debian packages when
 * running as root with apt-get. Returns undefined when all is there, else the one line to print.
 */
export function ensureTools(systems: readonly SystemId[], log: (line: string) => void): string | undefined {
  const tools = [...BASE_TOOLS, ...systems.flatMap((s) => SYSTEM_TOOLS[s])];
  const missing = () => tools.filter((t) => !hasCommand(t.command));
  const packages = () => [...new Set(missing().map((t) => t.aptPackage))];
  if (missing().length === 0) return undefined;
  if (process.getuid?.() === 0 && hasCommand('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    log(`bench: installing ${packages().join(' ')} (apt-get)`);
    const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages()], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
      install();
    }
  }
  if (missing().length === 0) return undefined;
  return `bench: missing ${missing()
    .map((t) => t.command)
    .join(', ')}: install the Debian packages ${packages().join(' ')} (as root: apt-get install ${packages().join(' ')}) or leave those systems out with --systems`;
}

function firstLine(command: string, args: readonly string[]): string {
  const out = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  const text = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0];
  return out.status === 0 && text ? text.trim() : 'not installed';
}

function s3rverVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(fs.readFileSync(require.resolve('s3rver/package.json'), 'utf8')) as { version: string };
    return `s3rver ${pkg.version}`;
  } catch {
    return 's3rver not installed';
  }
}

/** The commit that last changed the code measured (src/, bin/), and whether the worktree changes it. */
function bucketfsRevision(): string {
  const measured = ['--', 'src', 'bin', 'patches', 'package-lock.json'];
  const last = spawnSync('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%h "%s"', ...measured], { encoding: 'utf8' });
  const head = spawnSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (last.status !== 0 || head.status !== 0) return 'unknown revision';
  const dirty = spawnSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no', ...measured], { encoding: 'utf8' });
  return `code last changed in ${last.stdout.trim()} (HEAD ${head.stdout.trim()})${dirty.stdout.trim() !== '' ? ', with uncommitted changes' : ''}`;
}

export interface MachineInfo {
  readonly lines: readonly string[];
}

/** "0.52 0.61 0.70": how busy the machine was (other work skews every number). */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export function describeMachine(): MachineInfo {
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(1);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return {
    lines: [
      `machine: ${os.cpus().length} CPUs (nproc; ${cpu}), ${memGiB} GiB memory, Linux ${os.release()}`,
      `bucketfs: ${bucketfsRevision()}; node ${process.version}`,
      `s3fs: ${firstLine('s3fs', ['--version'])}`,
      `rclone: ${firstLine('rclone', ['version'])}`,
      `servers: ${s3rverVersion()}; ${firstLine('radosgw', ['--version'])}`,
    ],
  };
}
