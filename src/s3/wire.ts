// How S3 writes things on the wire, and the small conversions every call needs: ETag quoting, the
// copy-source header, listed names, Content-Range, metadata names. Pure functions, no SDK calls.

/** S3 quotes ETags, and If-Match needs them verbatim; Ceph RGW's copy results come unquoted. */
export function quoteEtag(etag: string | undefined): string {
  if (etag === undefined || etag === '') return '';
  return /^(W\/)?".*"$/.test(etag) ? etag : `"${etag}"`;
}

/** ETags compare without their quotes and weak marker: servers differ in how they write them. */
export function sameEtag(a: string, b: string): boolean {
  const bare = (etag: string): string => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return bare(a) === bare(b);
}

/** A multipart ETag (`md5-N`) is no digest of the bytes: copies of one object may differ in it. */
export function isMultipartEtag(etag: string): boolean {
  return /-\d+"?$/.test(etag);
}

/** A percent-encoded bucket/key for x-amz-copy-source: each path segment encoded on its own. */
export function copySource(bucket: string, fullKey: string): string {
  return `${encodeURIComponent(bucket)}/${fullKey.split('/').map(encodeURIComponent).join('/')}`;
}

/** ListObjectsV2 with encoding-type=url: AWS writes a space as '+', Ceph as %20; '+' is %2B in both. */
export function decodeListedName(name: string): string {
  return decodeURIComponent(name.replace(/\+/g, ' '));
}

/** Parses `bytes start-end/total` (total may be `*`). */
export function parseContentRange(header: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** User metadata names as S3 compares them: lower case. */
export function lowerCaseKeys(metadata: Record<string, string> | undefined): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** `bytes=start-end` for [startByte, endByteExclusive). */
export function rangeHeader(range: { readonly startByte: number; readonly endByteExclusive: number }): string {
  return `bytes=${range.startByte}-${range.endByteExclusive - 1}`;
}
