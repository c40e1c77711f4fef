// The rules a new bucket's name must follow (AWS's for general-purpose buckets, which Ceph RGW and
// MinIO enforce too): checked before CreateBucket so `mkdir` of an impossible name is EINVAL at once.
// Existing buckets are shown whatever their names (older servers allowed upper case and '_').

const MIN_LENGTH = 3;
const MAX_LENGTH = 63;

/** Why `name` cannot be a new bucket's name, or undefined when it can. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < MIN_LENGTH || name.length > MAX_LENGTH) return `a bucket name has ${MIN_LENGTH} to ${MAX_LENGTH} characters`;
  if (!/^[a-z0-9.-]+$/.test(name)) return "a bucket name holds only lower-case letters, digits, '.' and '-'";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'a bucket name starts and ends with a letter or a digit';
  if (name.includes('..')) return "a bucket name has no two '.' in a row";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'a bucket name is not an IP address';
  return undefined;
}
