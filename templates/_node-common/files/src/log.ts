// Structured (JSON lines) logging to stdout/stderr. Never log secrets,
// tokens or whole request bodies.
import type { Env } from './config.ts';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function createLogger(env: Env, base: LogFields = {}): Logger {
  // Tests stay quiet unless LOG_LEVEL asks otherwise.
  const configured = (env.LOG_LEVEL ?? (env.APP_ENV === 'test' ? 'silent' : 'info')) as Level | 'silent';
  const threshold = configured === 'silent' ? Infinity : (ORDER[configured] ?? ORDER.info);
  const write = (level: Level, msg: string, fields?: LogFields): void => {
    if (ORDER[level] < threshold) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields });
    if (level === 'error' || level === 'warn') process.stderr.write(line + '\n');
    else process.stdout.write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
