// What a mounted system's daemon costs, read from /proc without touching the mount: its peak
// resident memory (VmHWM, the high-water mark since it started: a fresh daemon per run makes it the
// run's peak) and the CPU time all its threads used (utime + stime).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface ProcessSample {
  readonly peakRssBytes: number;
  readonly cpuSeconds: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** undefined when the process is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { peakRssBytes: Number(hwm?.[1] ?? 0) * 1024, cpuSeconds: (utime + stime) / clockTicks() };
  } catch {
    return undefined;
  }
}
