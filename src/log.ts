// A leveled logger for the edges (CLI, daemon, binding). Lines go to stderr, which the daemon
// redirects to its log file when it runs in the background; the core only receives a Logger.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  readonly debugEnabled: boolean;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const at = (wanted: LogLevel) => (message: string) => {
    if (ORDER[wanted] <= ORDER[level]) write(`${new Date().toISOString()} ${wanted.toUpperCase()} ${message}\n`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), debugEnabled: level === 'debug' };
}

export const silentLogger: Logger = createLogger('error', () => undefined);
