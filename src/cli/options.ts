// Command-line values shared by every command that talks to S3 (mount, doctor, cleanup): the S3
// option group, its validation into an S3Config, and the parsers of sizes, modes, ids and times.
// A bad value is a UsageError: one line, exit 2.

import type { Argv } from 'yargs';
import { DEFAULTS, parseSize, type ChecksumMode, type S3Config } from '../config.js';
import { parseCapabilityOverrides, type ServerCapabilities } from '../s3/capabilities.js';
import { encryptionOption, encryptionOptions, storageClassOption } from './encryption-options.js';
import { UsageError } from './usage-error.js';

export { UsageError };

/** `bucket` or `bucket:prefix/inside` → bucket and a prefix that is '' or ends in '/'. */
export function parseSource(source: string): { bucket: string; prefix: string } {
  const colon = source.indexOf(':');
  const bucket = colon < 0 ? source : source.slice(0, colon);
  let prefix = colon < 0 ? '' : source.slice(colon + 1);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,254}$/.test(bucket)) {
    throw new UsageError(`'${bucket}' is not a valid bucket name: use letters, digits, '.', '-' and '_' (3-255 characters)`);
  }
  prefix = prefix.replace(/^\/+/, '');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  if (prefix.split('/').slice(0, -1).some((s) => s === '' || s === '.' || s === '..')) {
    throw new UsageError(`prefix '${prefix}' has an empty, '.' or '..' segment`);
  }
  return { bucket, prefix };
}

export function sizeOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const bytes = parseSize(String(value));
  if (bytes === undefined || bytes < min) throw new UsageError(`--${name} '${value}' is not a size: use e.g. 512M, 2G or a number of bytes (at least ${min})`);
  return bytes;
}

export function modeOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^0?[0-7]{1,4}$/.test(String(value))) throw new UsageError(`--${name} '${value}' is not an octal mode such as 0644`);
  return parseInt(String(value), 8);
}

export function idOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 0xfffffffe) throw new UsageError(`--${name} must be a number from 0 to 4294967294`);
  return value;
}

export function secondsOption(name: string, value: number | undefined, fallbackMs: number, minMs = 0): number {
  if (value === undefined) return fallbackMs;
  if (!Number.isFinite(value) || value < 0 || value * 1000 < minMs) throw new UsageError(`--${name} must be a number of seconds, ${minMs / 1000} or more`);
  return Math.round(value * 1000);
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `30m`, `24h`, `7d`, `2w` → ms. */
export function durationOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(String(value));
  if (!m) throw new UsageError(`--${name} '${value}' is not a duration: use e.g. 90s, 30m, 24h or 7d`);
  return Math.round(Number(m[1]) * (DURATION_UNITS_MS[(m[2] as string).toLowerCase()] as number));
}

const S3_OPTIONS = ['endpoint', 'secure', 'region', 'path-style', 'profile', 'passwd-file', 'checksum', 'request-timeout', 'connect-timeout', 'max-attempts', 'retry-delay', 'retry-max-delay', 'capability'];

/** The S3 option group; credentials never come from the command line (the AWS chain provides them). */
export function s3Options<T>(y: Argv<T>) {
  const s = DEFAULTS.s3;
  return encryptionOptions(y)
    .group(S3_OPTIONS, 'S3:')
    .option('endpoint', {
      type: 'string',
      describe: 'S3-compatible server (MinIO, RustFS, Ceph RGW...): a URL such as http://127.0.0.1:9000, or HOST[:PORT] as the MinIO client takes it (https unless --no-secure); default AWS S3 or AWS_ENDPOINT_URL',
    })
    .option('secure', { type: 'boolean', describe: 'with --endpoint HOST[:PORT]: https (the default, as mc does); --no-secure for plain http' })
    .option('region', { type: 'string', describe: 'region; any string works with a custom endpoint' })
    .option('path-style', { type: 'boolean', describe: 'bucket in the URL path (default: on with --endpoint)' })
    .option('profile', { type: 'string', describe: 'AWS profile from ~/.aws (credentials never come from the command line)' })
    .option('passwd-file', {
      type: 'string',
      describe: "s3fs-style keys file (ACCESS_KEY:SECRET or BUCKET:ACCESS_KEY:SECRET, mode 600); default ~/.passwd-bucketfs or /etc/passwd-bucketfs (then s3fs's) when the environment names no keys",
    })
    .option('checksum', { choices: ['when-required', 'when-supported'] as const, default: s.checksumMode, describe: 'request checksums: when-required is what S3-compatible servers accept' })
    .option('request-timeout', { type: 'number', describe: `seconds per S3 request attempt (default ${s.requestTimeoutMs / 1000})` })
    .option('connect-timeout', { type: 'number', describe: `seconds to open a connection (default ${s.connectTimeoutMs / 1000})` })
    .option('max-attempts', { type: 'number', describe: `attempts per S3 request on throttling, 5xx and resets (default ${s.maxAttempts})` })
    .option('retry-delay', { type: 'number', describe: `seconds before the first retry, doubling after (default ${s.retryBaseDelayMs / 1000})` })
    .option('capability', {
      type: 'string',
      describe: 'NAME=VALUE[,NAME=VALUE…]: what the server can do, over what bucketfs detects (bucketfs doctor lists them), e.g. uploadPartCopyConditions=false',
    })
    .option('retry-max-delay', { type: 'number', describe: `longest wait between two attempts, seconds (default ${s.retryMaxDelayMs / 1000})` })
    .option('config', {
      type: 'string',
      describe:
        'JSON file of options by their long names, optionally per bucket ({"endpoint": "127.0.0.1:9000", "buckets": {"photos": {"read-only": true}}}); ' +
        'default $XDG_CONFIG_HOME/bucketfs/config.json (~/.config/bucketfs/config.json) when it exists; flags on the command line win',
    });
}

type S3Args = Awaited<ReturnType<ReturnType<typeof s3Options>['parseAsync']>>;

/** A scheme (`http://`, `https://`, `ftp://`…): the value is a URL, not the MinIO client's HOST[:PORT]. */
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** HOST[:PORT]: a DNS name, an IPv4 address or a bracketed IPv6 address, then an optional port. */
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d+))?$/i;

/**
 * The endpoint URL: a URL as given (its scheme decides), or HOST[:PORT] as the MinIO client takes
 * it, https unless `secure` is false (mc's default). Falls back to AWS_ENDPOINT_URL(_S3).
 */
export function endpointOption(value: string | undefined, secure?: boolean): string | undefined {
  const endpoint = value ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (endpoint === undefined) {
    if (secure === false) throw new UsageError('--no-secure needs --endpoint HOST:PORT: AWS S3 is only reached over https');
    return undefined;
  }
  const text = String(endpoint).trim();
  if (HAS_SCHEME.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new UsageError(`--endpoint '${text}' is not a URL: use e.g. http://127.0.0.1:9000 or 127.0.0.1:9000 --no-secure`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--endpoint '${text}' must start with http:// or https://`);
    if (secure !== undefined && secure !== (url.protocol === 'https:')) {
      throw new UsageError(`--endpoint '${text}' says ${url.protocol.slice(0, -1)} but ${secure ? '--secure' : '--no-secure'} asks for ${secure ? 'https' : 'http'}: drop one of them`);
    }
    return text;
  }
  const m = HOST_PORT.exec(text);
  if (m === null) {
    throw new UsageError(`--endpoint '${text}' is neither a URL (http://127.0.0.1:9000) nor HOST[:PORT] (127.0.0.1:9000, s3.example.net)`);
  }
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new UsageError(`--endpoint '${text}': the port must be a number from 1 to 65535`);
  return `${secure === false ? 'http' : 'https'}://${m[1] as string}${port === undefined ? '' : `:${port}`}`;
}

function capabilityOption(list: string | undefined): Partial<ServerCapabilities> | undefined {
  if (list === undefined || list.trim() === '') return undefined;
  try {
    return parseCapabilityOverrides(String(list).split(','));
  } catch (e) {
    throw new UsageError(`--capability ${(e as Error).message}`);
  }
}

/** The S3Config of `source` (bucket or bucket:prefix; undefined: no bucket, for every bucket) from the S3 option group. */
export function buildS3Config(args: S3Args, source: string | undefined, maxSockets: number = DEFAULTS.s3.maxSockets): S3Config {
  const { bucket, prefix } = source === undefined ? { bucket: '', prefix: '' } : parseSource(source);
  const endpoint = endpointOption(args.endpoint, args.secure);
  const maxAttempts = args['max-attempts'] ?? DEFAULTS.s3.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) throw new UsageError('--max-attempts must be a whole number from 1 to 20');
  const retryBaseDelayMs = secondsOption('retry-delay', args['retry-delay'], DEFAULTS.s3.retryBaseDelayMs);
  const retryMaxDelayMs = secondsOption('retry-max-delay', args['retry-max-delay'], DEFAULTS.s3.retryMaxDelayMs);
  if (retryMaxDelayMs < retryBaseDelayMs) throw new UsageError('--retry-max-delay must be at least --retry-delay');
  return {
    bucket,
    prefix,
    endpoint,
    region: args.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    pathStyle: args['path-style'] ?? endpoint !== undefined,
    profile: args.profile,
    checksumMode: args.checksum as ChecksumMode,
    requestTimeoutMs: secondsOption('request-timeout', args['request-timeout'], DEFAULTS.s3.requestTimeoutMs, 100),
    connectTimeoutMs: secondsOption('connect-timeout', args['connect-timeout'], DEFAULTS.s3.connectTimeoutMs, 100),
    maxAttempts,
    retryBaseDelayMs,
    retryMaxDelayMs,
    maxSockets,
    uploadJournalDir: DEFAULTS.uploadJournalDir,
    capabilities: capabilityOption(args.capability),
    encryption: encryptionOption(args),
    storageClass: storageClassOption(args['storage-class']),
  };
}
