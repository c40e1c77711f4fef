// A bad command line, config file or option value: one line on stderr and exit 2.
export class UsageError extends Error {}
