import { formatLogLine, LOG_LEVELS, type LogFields, type LogLevel } from '../protocol/hclog.js';

import type { DriverLogger } from '../rpc/handlers.js';

export type { DriverLogger };

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Written as `@module`, as hclog names sub-loggers. Default: none. */
  module?: string;
  /** Lines below this level are not written. Default: `DRIVERKIT_LOG_LEVEL`, else `info`. */
  level?: LogLevel;
  /** Where lines go. Default: the driver's stderr. */
  write?: (line: string) => void;
}

/** Creates a driver logger. */
export function createLogger(options: LoggerOptions = {}): DriverLogger {
  const envLevel = process.env.DRIVERKIT_LOG_LEVEL as LogLevel | undefined;
  const level = options.level ?? (envLevel && LOG_LEVELS.includes(envLevel) ? envLevel : 'info');
  const min = LOG_LEVELS.indexOf(level);
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const make = (base: LogFields): DriverLogger => {
    const at = (lvl: LogLevel) => {
      if (LOG_LEVELS.indexOf(lvl) < min) return () => {};
      return (message: string, fields?: LogFields) =>
        write(formatLogLine(lvl, message, fields ? { ...base, ...fields } : base));
    };
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      with: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.module ? { '@module': options.module } : {});
}
