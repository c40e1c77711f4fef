// The optional config file: JSON holding any option of mount, doctor and cleanup by its long name
// (`{"endpoint": "127.0.0.1:9000", "stat-ttl": 30}`), optionally per bucket
// (`{"buckets": {"photos": {"read-only": true}}}`). Its options become command-line arguments placed
// before the user's own, so yargs validates them like flags and a flag given on the command line
// wins (a repeated flag keeps its last value); a bucket's section wins over the top level. Keys must
// be options of some command; credentials never go in it (keys named like secrets are refused).

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './usage-error.js';

/** $XDG_CONFIG_HOME/bucketfs/config.json, else ~/.config/bucketfs/config.json. */
export function defaultConfigFile(): string {
  const home = process.env.XDG_CONFIG_HOME !== undefined && process.env.XDG_CONFIG_HOME !== '' ? process.env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(home, 'bucketfs', 'config.json');
}

type Section = Readonly<Record<string, unknown>>;

export interface ConfigFile {
  readonly file: string;
  /** Options for every bucket. */
  readonly global: Section;
  /** Options for one bucket each, over the global ones. */
  readonly buckets: Readonly<Record<string, Section>>;
}

/** What the running command accepts: its long option names by the JSON type their value takes. */
export interface CommandOptions {
  readonly booleans: ReadonlySet<string>;
  readonly numbers: ReadonlySet<string>;
  /** Strings and choices; a JSON number is taken too (sizes such as 1048576). */
  readonly strings: ReadonlySet<string>;
  /** The values an option with choices accepts. */
  readonly choices: ReadonlyMap<string, readonly string[]>;
}

/** Names a credential would have: refused with their own message, whatever command runs. */
const SECRET_LIKE = /secret|password|token|credential|session|access[-_]?key/i;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(file: string, message: string): never {
  throw new UsageError(`config file ${file}: ${message}`);
}

/**
 * Reads `explicit` (which must exist) or, without it, the default file when it exists; undefined
 * when there is none. A file that is not a JSON object of options is one UsageError line.
 */
export async function loadConfigFile(explicit: string | undefined): Promise<ConfigFile | undefined> {
  const file = path.resolve(explicit ?? defaultConfigFile());
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (explicit === undefined && code === 'ENOENT') return undefined;
    fail(file, code === 'ENOENT' ? 'it does not exist' : (e as Error).message);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(file, `not valid JSON (${(e as Error).message.replace(/\s+/g, ' ')})`);
  }
  if (!isObject(data)) fail(file, 'must hold a JSON object of options, e.g. {"endpoint": "127.0.0.1:9000", "stat-ttl": 30}');
  const { buckets = {}, ...global } = data;
  if (!isObject(buckets)) fail(file, '"buckets" must be an object of bucket name → options, e.g. {"photos": {"read-only": true}}');
  for (const [bucket, section] of Object.entries(buckets)) {
    if (!isObject(section)) fail(file, `"buckets.${bucket}" must be an object of options`);
  }
  return { file, global, buckets: buckets as Record<string, Section> };
}

/** One option of the file as command-line arguments, after checking its name and value type. */
function optionArgs(file: string, where: string, key: string, value: unknown, own: CommandOptions, known: ReadonlySet<string>): string[] {
  if (SECRET_LIKE.test(key)) {
    fail(file, `"${where}${key}" looks like a credential: keys never go in the config file (use the AWS environment, ~/.aws or --passwd-file)`);
  }
  if (key === 'buckets') fail(file, `"${where}buckets" cannot nest: bucket sections belong at the top level`);
  if (!known.has(key)) fail(file, `unknown option "${where}${key}": use the long name of a command-line option, e.g. "stat-ttl"`);
  // An option of another command (the file serves mount, doctor and cleanup alike).
  const isBoolean = own.booleans.has(key);
  const isNumber = own.numbers.has(key);
  if (!isBoolean && !isNumber && !own.strings.has(key)) return [];
  if (isBoolean) {
    if (typeof value !== 'boolean') fail(file, `"${where}${key}" must be true or false, not ${JSON.stringify(value)}`);
    return [value ? `--${key}` : `--no-${key}`];
  }
  if (isNumber && (typeof value !== 'number' || !Number.isFinite(value))) fail(file, `"${where}${key}" must be a number, not ${JSON.stringify(value)}`);
  if (typeof value !== 'string' && typeof value !== 'number') fail(file, `"${where}${key}" must be a string, not ${JSON.stringify(value)}`);
  const choices = own.choices.get(key);
  if (choices !== undefined && !choices.includes(String(value))) fail(file, `"${where}${key}" must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}`);
  return [`--${key}=${String(value)}`];
}

/**
 * The arguments the config file adds for a command run on `bucket` (undefined: no bucket named):
 * the top level, then the bucket's section. `known` is every option of every command that reads
 * the file, so an option of another command is skipped, not refused.
 */
export function configArgs(config: ConfigFile, bucket: string | undefined, own: CommandOptions, known: ReadonlySet<string>): string[] {
  const out = Object.entries(config.global).flatMap(([key, value]) => optionArgs(config.file, '', key, value, own, known));
  for (const [name, section] of Object.entries(config.buckets)) {
    // Every section is checked, so a typo in one bucket's options is found before that bucket is used.
    const args = Object.entries(section).flatMap(([key, value]) => optionArgs(config.file, `buckets.${name}.`, key, value, own, known));
    if (name === bucket) out.push(...args);
  }
  return out;
}

/** The value of `--NAME VALUE` or `--NAME=VALUE` in `argv`, the last one given. */
export function flagValue(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg === `--${name}`) value = argv[++i];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  }
  return value;
}

/**
 * The first positional argument of `argv` (the arguments after the command name), skipping flags and
 * their values as yargs reads them: boolean flags take no value (but an explicit true/false), others
 * take the next argument unless written `--name=value`.
 */
export function firstPositional(argv: readonly string[], booleans: ReadonlySet<string>): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return argv[i + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    if (!arg.startsWith('--') || arg.includes('=')) continue;
    const name = arg.slice(2);
    if (name.startsWith('no-') && booleans.has(name.slice(3))) continue;
    if (booleans.has(name)) {
      if (argv[i + 1] === 'true' || argv[i + 1] === 'false') i++;
      continue;
    }
    i++;
  }
  return undefined;
}
