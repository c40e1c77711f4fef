// mount(8) and /etc/fstab speak `SOURCE MOUNTPOINT -o opt,key=value`: /sbin/mount.bucketfs is called
// that way for `-t bucketfs`, and mount.fuse calls `bucketfs SOURCE MOUNTPOINT -o …` for
// `-t fuse.bucketfs`. This turns such a call into `bucketfs mount` arguments: every CLI option is
// accepted as `-o key=value` (underscores or dashes), the usual mount options are mapped or ignored,
// and anything else reaches the CLI's strict parser, which names it in one line. A source of `*`
// mounts every bucket (fstab's first field cannot be empty, and no bucket can be named `*`).

export interface HelperCall {
  /** Arguments for `bucketfs` (starting with `mount`). */
  readonly args: string[];
  /** `-f`: mount(8) asks to fake the mount (parse, check, do nothing). */
  readonly fake: boolean;
  readonly verbose: boolean;
}

export class HelperUsageError extends Error {}

/** Options mount(8), systemd and fuse add that mean nothing to bucketfs. */
const IGNORED = new Set([
  'defaults', 'auto', 'noauto', 'user', 'users', 'nouser', 'owner', 'group', 'rw', 'suid', 'nosuid', 'dev', 'nodev',
  'exec', 'noexec', 'async', 'sync', 'dirsync', 'noatime', 'relatime', 'norelatime', 'strictatime', 'lazytime',
  'diratime', 'nodiratime', '_netdev', 'nofail', 'nonempty', 'bg', 'fg', 'loud', 'silent',
]);
const IGNORED_KEYS = new Set(['fsname', 'subtype', 'comment', 'helper', 'context', 'fscontext', 'defcontext', 'rootcontext']);

/** Parses the arguments after the program name: `SOURCE MOUNTPOINT [-sfnv] [-o OPTIONS] [-t TYPE]` (SOURCE `*`: every bucket). */
export function helperCall(argv: readonly string[]): HelperCall {
  const positional: string[] = [];
  const options: string[] = [];
  let fake = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-o') {
      const value = argv[++i];
      if (value === undefined) throw new HelperUsageError('-o needs a list of options');
      options.push(...value.split(',').filter(Boolean));
    } else if (arg.startsWith('-o') && arg.length > 2) {
      options.push(...arg.slice(2).split(',').filter(Boolean));
    } else if (arg === '-t') {
      i++; // the type is ours by definition
    } else if (/^-[sfnvwN]+$/.test(arg)) {
      fake ||= arg.includes('f');
      verbose ||= arg.includes('v');
    } else if (arg.startsWith('-')) {
      throw new HelperUsageError(`unknown mount helper flag ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 2) throw new HelperUsageError(`expected BUCKET[:PREFIX] MOUNTPOINT (or * MOUNTPOINT for every bucket), got ${positional.length} arguments`);
  const [source, mountpoint] = positional as [string, string];
  return { args: ['mount', source.replace(/^bucketfs#/, ''), mountpoint, ...options.flatMap(toCliArgs)], fake, verbose };
}

/** One `-o` option as CLI arguments. */
function toCliArgs(option: string): string[] {
  const eq = option.indexOf('=');
  const key = (eq < 0 ? option : option.slice(0, eq)).replace(/_/g, '-');
  const value = eq < 0 ? undefined : option.slice(eq + 1);
  if (IGNORED.has(option) || IGNORED_KEYS.has(key) || key.startsWith('x-')) return [];
  if (key === 'ro' && value === undefined) return ['--read-only'];
  if (key === 'umask') {
    if (value === undefined || !/^0?[0-7]{1,3}$/.test(value)) throw new HelperUsageError(`umask=${value ?? ''} is not an octal mask such as 022`);
    const mask = parseInt(value, 8);
    return ['--file-mode', `0${(0o666 & ~mask).toString(8)}`, '--dir-mode', `0${(0o777 & ~mask).toString(8)}`];
  }
  return value === undefined ? [`--${key}`] : [`--${key}=${value}`];
}
