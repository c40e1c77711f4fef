// Who owns a mount's spool folder. The folder's name holds its owner's boot id, pid and start time
// (clock ticks since boot, /proc/PID/stat field 22), so the name alone says whether the owner still
// runs: a pid reused by another process has another start time, and a reboot changes the boot id.
// A folder that `mkdir -p` recreates after a user removed it is therefore still its owner's, and no
// other mount can mistake it for a leftover. Within one process (unit tests build several
// filesystems) a folder is alive while its Spool holds it (holdHere / releaseHere).

import { processStartTicks } from '../proc.js';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';

export interface OwnerIdentity {
  /** First 8 hex digits of /proc/sys/kernel/random/boot_id ('00000000' where it cannot be read). */
  readonly boot: string;
  readonly pid: number;
  /** Start time of the process in clock ticks since boot; 0 where /proc cannot be read. */
  readonly startTicks: number;
}

const NAME = /^mount-([0-9a-f]{8})-(\d+)-(\d+)-[0-9a-f]{6}$/;
const heldHere = new Set<string>();

async function bootId(): Promise<string> {
  const text = await fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '');
  const hex = text.replace(/[^0-9a-f]/g, '').slice(0, 8);
  return hex.length === 8 ? hex : '00000000';
}



export async function currentOwner(): Promise<OwnerIdentity> {
  return { boot: await bootId(), pid: process.pid, startTicks: (await processStartTicks(process.pid)) ?? 0 };
}

/** A new folder name for one mount instance of `owner`. */
export function instanceName(owner: OwnerIdentity): string {
  return `mount-${owner.boot}-${owner.pid}-${owner.startTicks}-${randomBytes(3).toString('hex')}`;
}

export function parseInstanceName(name: string): OwnerIdentity | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { boot: m[1] as string, pid: Number(m[2]), startTicks: Number(m[3]) };
}

export function holdHere(name: string): void {
  heldHere.add(name);
}

export function releaseHere(name: string): void {
  heldHere.delete(name);
}

/**
 * Is the owner of the instance folder `name` alive? Undefined when `name` is not an instance folder
 * (a legacy layout or something else: the caller decides).
 */
export async function ownerAlive(name: string): Promise<boolean | undefined> {
  const owner = parseInstanceName(name);
  if (!owner) return undefined;
  const me = await currentOwner();
  if (owner.boot !== me.boot) return false;
  if (owner.pid === me.pid && owner.startTicks === me.startTicks) return heldHere.has(name);
  const ticks = await processStartTicks(owner.pid);
  if (ticks === undefined) return false;
  // Without /proc start times (0), a live pid is all we can check.
  return owner.startTicks === 0 || ticks === owner.startTicks;
}
