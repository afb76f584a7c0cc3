import { LOG_LEVELS, type LogFields, type LogLevel } from '../protocol/hclog.js';

/** Where the host sends driver log lines and its own; plug in pino, winston or a test spy. */
export interface Logger {
  log(level: LogLevel, message: string, fields: LogFields): void;
}

/**
 * A logger that writes `TIME [LEVEL] message key=value` lines to stderr. Default level:
 * `DRIVERKIT_LOG_LEVEL`, else `info`.
 */
export function consoleLogger(
  level?: LogLevel,
  write: (line: string) => void = (l) => void process.stderr.write(l),
): Logger {
  const envLevel = process.env.DRIVERKIT_LOG_LEVEL as LogLevel | undefined;
  const min = LOG_LEVELS.indexOf(
    level ?? (envLevel && LOG_LEVELS.includes(envLevel) ? envLevel : 'info'),
  );
  return {
    log(lvl, message, fields) {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      const kv = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${new Date().toISOString()} [${lvl.toUpperCase()}] ${message}${kv ? ` ${kv}` : ''}\n`);
    },
  };
}
