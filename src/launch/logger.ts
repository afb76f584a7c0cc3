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
  const min = minLevel(level);
  return {
    log(lvl, message, fields) {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      const kv = Object.entries(fields)
        .map(
          ([k, v]) =>
            `${escaped(k)}=${typeof v === 'string' && PLAIN.test(v) ? v : JSON.stringify(v)}`,
        )
        .join(' ');
      write(
        `${new Date().toISOString()} [${lvl.toUpperCase()}] ${escaped(message)}${kv ? ` ${kv}` : ''}\n`,
      );
    },
  };
}

/**
 * A logger that writes one JSON object a line to stderr, `{"time","level","message",...fields}`,
 * for a log collector (production). Default level as `consoleLogger`'s.
 */
export function jsonLogger(
  level?: LogLevel,
  write: (line: string) => void = (l) => void process.stderr.write(l),
): Logger {
  const min = minLevel(level);
  return {
    log(lvl, message, fields) {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      // Fields first: time, level and message are ours, whatever a driver names its fields.
      write(
        `${JSON.stringify({ ...fields, time: new Date().toISOString(), level: lvl, message })}\n`,
      );
    },
  };
}

/** The index of the lowest level written: `level`, else `DRIVERKIT_LOG_LEVEL`, else info. */
function minLevel(level: LogLevel | undefined): number {
  const envLevel = process.env.DRIVERKIT_LOG_LEVEL as LogLevel | undefined;
  return LOG_LEVELS.indexOf(
    level ?? (envLevel && LOG_LEVELS.includes(envLevel) ? envLevel : 'info'),
  );
}

/** A value printed as it is: no space, quote, `=` or control character in it. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what makes a value not plain
const PLAIN = /^[^\s"=\u0000-\u001f\u007f-\u009f]+$/;

/**
 * A message or key that a driver or a caller chose, with its control characters escaped
 * (`\n` as the two characters \\n): one log call is one line, and no text can forge
 * another line or move the terminal's cursor.
 */
function escaped(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is escaped
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    JSON.stringify(c).slice(1, -1),
  );
}
