// MountError: a mount-time problem, as one sentence that names the cause and the fix. The CLI prints
// its message alone and exits 1.

export class MountError extends Error {
  override readonly name = 'MountError';
}
