// S3 requests by kind, read from a bucketfs `--debug` log: src/s3/s3-object-store.ts logs one line
// per request, `s3 OP "key" STATUS MSms`. A 404 is counted under its kind and again as not-found.

export type RequestCounts = ReadonlyMap<string, number>;

export const NOT_FOUND = '404s';

const LINE = /\bs3 ([A-Z][A-Z-]*) "(?:[^"\\]|\\.)*" (\S+) \d+ms/;

export function countRequests(log: string): RequestCounts {
  const counts = new Map<string, number>();
  for (const line of log.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const op = m[1] as string;
    counts.set(op, (counts.get(op) ?? 0) + 1);
    if (m[2] === '404') counts.set(NOT_FOUND, (counts.get(NOT_FOUND) ?? 0) + 1);
  }
  return counts;
}

export function totalRequests(counts: RequestCounts): number {
  let total = 0;
  for (const [op, n] of counts) if (op !== NOT_FOUND) total += n;
  return total;
}
