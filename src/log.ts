// A leveled logger for the edges (CLI, daemon, binding). Lines go to stderr, which the daemon
// redirects to its log file when it runs in the background; the core only receives a Logger.
// Text lines are for people; JSON lines (one object per line: ts, level, msg, then the structured
// fields a caller gave) are for log shippers. The level can change while the daemon runs (SIGUSR2),
// so `debugEnabled` is read at each use, never copied.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Facts a line is about (an S3 request's op, key, status, ms), as JSON lines carry them. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  readonly debugEnabled: boolean;
}

/** The daemon's logger: its level can be changed while it runs. */
export interface LevelledLogger extends Logger {
  level: LogLevel;
}

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** One line, newline included, in `format`. */
export function formatLine(format: LogFormat, level: LogLevel, message: string, fields: LogFields | undefined, at: Date = new Date()): string {
  if (format === 'text') return `${at.toISOString()} ${level.toUpperCase()} ${message}\n`;
  // ts, level and msg first and never overwritten by a field of the same name.
  return `${JSON.stringify({ ...fields, ts: at.toISOString(), level, msg: message }, ['ts', 'level', 'msg', ...Object.keys(fields ?? {}).filter((k) => k !== 'ts' && k !== 'level' && k !== 'msg')])}\n`;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l), format: LogFormat = 'text'): LevelledLogger {
  let current = level;
  const at = (wanted: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[wanted] <= ORDER[current]) write(formatLine(format, wanted, message, fields));
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    get debugEnabled() {
      return current === 'debug';
    },
    get level() {
      return current;
    },
    set level(next: LogLevel) {
      current = next;
    },
  };
}

/**
 * SIGUSR2's toggle: one step more verbose than `base` (info → debug), or back to `base` when already
 * raised. At debug there is nothing above: the level stays.
 */
export function toggledLevel(base: LogLevel, current: LogLevel): LogLevel {
  if (current !== base) return base;
  return LOG_LEVELS[Math.min(ORDER[base] + 1, LOG_LEVELS.length - 1)] as LogLevel;
}

export const silentLogger: Logger = createLogger('error', () => undefined);
