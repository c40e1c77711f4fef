// Facts about processes from /proc, for telling a live daemon from a dead one whose pid was reused.

import { promises as fsp } from 'node:fs';

/** The process's start time (field 22 of /proc/PID/stat, clock ticks since boot); undefined when it is gone. */
export async function processStartTicks(pid: number): Promise<number | undefined> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const field = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  return field === undefined ? undefined : Number(field);
}
