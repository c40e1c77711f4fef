// The daemon's logger: levels, the JSON line format (one object per line, ts/level/msg first, then
// the event's fields), SIGUSR2's one-step toggle, and a level change reaching a wrapped logger.
import { describe, expect, it } from 'vitest';
import { MountCounters } from '../../src/control/counters.js';
import { createLogger, formatLine, toggledLevel } from '../../src/log.js';

describe('log lines', () => {
  it('in json are one object per line with ts, level, msg and the structured fields', () => {
    const at = new Date('2026-12-02T10:00:00.000Z');
    const line = formatLine('json', 'debug', 's3 GET "a" 206 12ms', { op: 'GET', key: 'a', status: 206, durationMs: 12, errorCode: undefined }, at);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd()).not.toContain('\n');
    expect(Object.keys(JSON.parse(line) as object)).toEqual(['ts', 'level', 'msg', 'op', 'key', 'status', 'durationMs']);
    expect(JSON.parse(line)).toEqual({ ts: '2026-12-02T10:00:00.000Z', level: 'debug', msg: 's3 GET "a" 206 12ms', op: 'GET', key: 'a', status: 206, durationMs: 12 });
  });

  it('keep ts, level and msg when a field has the same name', () => {
    const parsed = JSON.parse(formatLine('json', 'warn', 'hello', { level: 'bogus', msg: 'other', extra: 1 })) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 'warn', msg: 'hello', extra: 1 });
  });

  it('in text are timestamp, LEVEL and the message', () => {
    expect(formatLine('text', 'info', 'mounted', { op: 'x' }, new Date(0))).toBe('1970-01-01T00:00:00.000Z INFO mounted\n');
  });
});

describe('log levels', () => {
  it('drop lines below the level, and follow a change of level at once', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l), 'json');
    log.debug('hidden');
    log.info('shown');
    expect(log.debugEnabled).toBe(false);
    log.level = 'debug';
    expect(log.debugEnabled).toBe(true);
    log.debug('now shown');
    log.level = 'error';
    log.warn('hidden again');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['shown', 'now shown']);
  });

  it('SIGUSR2 raises one step and a second goes back; debug has nothing above it', () => {
    expect(toggledLevel('info', 'info')).toBe('debug');
    expect(toggledLevel('info', 'debug')).toBe('info');
    expect(toggledLevel('error', 'error')).toBe('warn');
    expect(toggledLevel('warn', 'info')).toBe('warn');
    expect(toggledLevel('debug', 'debug')).toBe('debug');
  });

  it('a counting wrapper sees a later change of level (it must not copy debugEnabled)', () => {
    const counters = new MountCounters();
    try {
      const lines: string[] = [];
      const base = createLogger('info', (l) => lines.push(l));
      const log = counters.counting(base);
      expect(log.debugEnabled).toBe(false);
      base.level = 'debug';
      expect(log.debugEnabled).toBe(true);
      log.debug('through the wrapper');
      log.error('counted');
      expect(counters.errors).toBe(1);
      expect(lines).toHaveLength(2);
    } finally {
      counters.close();
    }
  });
});
