// What an S3 server can do, flag by flag, so each workaround runs only where it is needed (as goofys
// names its backends' capabilities). Three sources, strongest first: the caller's overrides, what
// the server proved at run time (a 501, an empty ETag, a condition it ignored), and the defaults of
// the server kind seen in its answers (the Server header, the request-id format) or the endpoint.

import type { S3Config } from '../config.js';

/** Where x-amz-copy-source-if-match is read: AWS and MinIO use the standard name, Ceph RGW its own. */
export type CopyIfMatchHeader = 'x-amz-copy-source-if-match' | 'x-amz-copy-if-match';

export interface ServerCapabilities {
  readonly pathStyle: boolean;
  readonly flexibleChecksums: boolean;
  readonly conditionalRead: boolean;
  readonly conditionalCopy: boolean;
  readonly copyIfMatchHeaderName: CopyIfMatchHeader;
  readonly uploadPartCopySupported: boolean;
  readonly uploadPartCopyConditions: boolean;
  readonly completeReturnsEtag: boolean;
}

export type CapabilityName = keyof ServerCapabilities;

/** One line per flag: what it means and what bucketfs does when it is false. */
export const CAPABILITY_DESCRIPTIONS: Readonly<Record<CapabilityName, string>> = {
  pathStyle: 'the bucket goes in the URL path (http://host/bucket/key), not in the host name',
  flexibleChecksums: "the server accepts the SDK's CRC32 request checksums; when false only required checksums are sent",
  conditionalRead: 'If-Match on GET is honoured; when false bucketfs still checks each answer’s ETag itself',
  conditionalCopy: 'CopyObject honours its copy-source If-Match; when false bucketfs HEADs the source before copying',
  copyIfMatchHeaderName: 'the header CopyObject reads its If-Match from (Ceph RGW: x-amz-copy-if-match; both are sent then)',
  uploadPartCopySupported: 'UploadPartCopy is implemented; when false the part is read with GET and uploaded',
  uploadPartCopyConditions: 'UploadPartCopy honours its copy-source If-Match; when false a HEAD after the copy checks the source',
  completeReturnsEtag: 'CompleteMultipartUpload answers with the ETag; when false a HEAD reads it',
};

/** The families of servers whose dialect is known. */
export type ServerKind = 'aws' | 'minio' | 'ceph' | 'unknown';

type KindDefaults = Omit<ServerCapabilities, 'pathStyle' | 'flexibleChecksums'>;

/**
 * What each kind is known to do. An unknown server gets the careful choice wherever a wrong guess
 * would cost data (conditions checked after the fact) and the standard one where S3 itself is the
 * only sensible guess; run-time evidence corrects the rest.
 */
const STANDARD: KindDefaults = {
  conditionalRead: true,
  conditionalCopy: true,
  copyIfMatchHeaderName: 'x-amz-copy-source-if-match',
  uploadPartCopySupported: true,
  uploadPartCopyConditions: true,
  completeReturnsEtag: true,
};

const KIND_DEFAULTS: Readonly<Record<ServerKind, KindDefaults>> = {
  aws: STANDARD,
  minio: STANDARD,
  ceph: { ...STANDARD, copyIfMatchHeaderName: 'x-amz-copy-if-match', uploadPartCopyConditions: false, completeReturnsEtag: false },
  // Both copy-condition headers (harmless where one is unknown) and a HEAD after UploadPartCopy.
  unknown: { ...STANDARD, copyIfMatchHeaderName: 'x-amz-copy-if-match', uploadPartCopyConditions: false },
};

/** The kind an endpoint names before any answer: none (or an amazonaws.com host) is AWS. */
export function kindOfEndpoint(endpoint: string | undefined): ServerKind {
  if (endpoint === undefined) return 'aws';
  try {
    return /(^|\.)amazonaws\.com(\.cn)?$/i.test(new URL(endpoint).hostname) ? 'aws' : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Ceph RGW request ids: `tx` + 21 hex digits, `-`, 10 hex digits of time, `-`, the zone. */
const RGW_REQUEST_ID = /^tx[0-9a-f]{21}-[0-9a-f]{8,}-/;

/** The kind an answer's headers (lower-case names) reveal, or undefined when they say nothing. */
export function kindOfResponse(headers: Readonly<Record<string, string | undefined>>): ServerKind | undefined {
  const server = headers.server ?? '';
  if (/^AmazonS3/i.test(server)) return 'aws';
  if (/MinIO/i.test(server)) return 'minio';
  if (/Ceph|RGW|radosgw/i.test(server)) return 'ceph';
  if (RGW_REQUEST_ID.test(headers['x-amz-request-id'] ?? '')) return 'ceph';
  return undefined;
}

/** A value the server proved at run time, and the evidence, for logs and `bucketfs doctor`. */
export interface LearnedCapability {
  readonly name: CapabilityName;
  readonly value: ServerCapabilities[CapabilityName];
  readonly reason: string;
}

/**
 * The live capabilities of one store. Reads are cheap (`current` is rebuilt only on a change), and
 * every change is logged once through `onChange`.
 */
export class CapabilityTracker {
  readonly #config: Pick<S3Config, 'pathStyle' | 'checksumMode'>;
  readonly #overrides: Partial<ServerCapabilities>;
  readonly #learned = new Map<CapabilityName, LearnedCapability>();
  readonly #onChange: ((line: string) => void) | undefined;
  #kind: ServerKind;
  #current: ServerCapabilities;

  constructor(
    config: Pick<S3Config, 'endpoint' | 'pathStyle' | 'checksumMode'>,
    overrides: Partial<ServerCapabilities> = {},
    onChange?: (line: string) => void,
  ) {
    this.#config = config;
    this.#overrides = overrides;
    this.#onChange = onChange;
    this.#kind = kindOfEndpoint(config.endpoint);
    this.#current = this.#resolve();
  }

  get kind(): ServerKind {
    return this.#kind;
  }

  get current(): ServerCapabilities {
    return this.#current;
  }

  /** True when the flag's value comes from the caller, not from defaults or evidence. */
  isOverridden(name: CapabilityName): boolean {
    return this.#overrides[name] !== undefined;
  }

  get learned(): readonly LearnedCapability[] {
    return [...this.#learned.values()];
  }

  /** Looks at an answer's headers while the kind is still unknown. */
  observe(headers: Readonly<Record<string, string | undefined>>): void {
    if (this.#kind !== 'unknown') return;
    const kind = kindOfResponse(headers);
    if (kind === undefined) return;
    this.#kind = kind;
    this.#current = this.#resolve();
    this.#onChange?.(`s3 server looks like ${kind}: ${describeCapabilities(this.#current)}`);
  }

  /** Records what the server just proved; an override still wins. */
  learn<K extends CapabilityName>(name: K, value: ServerCapabilities[K], reason: string): void {
    if (this.#learned.get(name)?.value === value) return;
    this.#learned.set(name, { name, value, reason });
    this.#current = this.#resolve();
    this.#onChange?.(`s3 capability ${name}=${String(value)}${this.isOverridden(name) ? ' (ignored: overridden)' : ''}: ${reason}`);
  }

  #resolve(): ServerCapabilities {
    const learned = Object.fromEntries([...this.#learned.values()].map((l) => [l.name, l.value])) as Partial<ServerCapabilities>;
    return Object.freeze({
      pathStyle: this.#config.pathStyle,
      flexibleChecksums: this.#config.checksumMode === 'when-supported',
      ...KIND_DEFAULTS[this.#kind],
      ...learned,
      ...this.#overrides,
    });
  }
}

/** `name=value` pairs, as logs and `bucketfs doctor` print them. */
export function describeCapabilities(capabilities: ServerCapabilities): string {
  return (Object.keys(CAPABILITY_DESCRIPTIONS) as CapabilityName[]).map((name) => `${name}=${String(capabilities[name])}`).join(' ');
}

/**
 * Parses `name=value` overrides (booleans as true/false/yes/no/1/0) for a CLI flag; throws a
 * RangeError that names the bad pair and the valid names.
 */
export function parseCapabilityOverrides(pairs: readonly string[]): Partial<ServerCapabilities> {
  const out: Record<string, boolean | string> = {};
  const names = Object.keys(CAPABILITY_DESCRIPTIONS) as CapabilityName[];
  for (const pair of pairs) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(pair.trim());
    const name = names.find((n) => n === m?.[1]);
    if (m === null || name === undefined) {
      throw new RangeError(`'${pair}' is not NAME=VALUE with NAME one of ${names.join(', ')}`);
    }
    const value = (m[2] as string).toLowerCase();
    if (name === 'copyIfMatchHeaderName') {
      if (value !== 'x-amz-copy-source-if-match' && value !== 'x-amz-copy-if-match') {
        throw new RangeError(`${name} must be x-amz-copy-source-if-match or x-amz-copy-if-match, not '${m[2]}'`);
      }
      out[name] = value;
    } else if (['true', 'yes', '1', 'on'].includes(value)) {
      out[name] = true;
    } else if (['false', 'no', '0', 'off'].includes(value)) {
      out[name] = false;
    } else {
      throw new RangeError(`${name} must be true or false, not '${m[2]}'`);
    }
  }
  return out as Partial<ServerCapabilities>;
}
