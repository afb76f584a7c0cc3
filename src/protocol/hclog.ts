/** hclog's levels, lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
/** One of hclog's levels. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured fields beside a log message. */
export type LogFields = Record<string, unknown>;

/** One log entry parsed from a driver's stderr. */
export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** Keys hclog reserves in a JSON line; everything else is a field. */
const RESERVED = new Set(['@level', '@message', '@timestamp']);

/**
 * Formats a timestamp as go-plugin parses it: `2006-01-02T15:04:05.000000Z07:00`, six
 * fractional digits. A line with any other form is not taken as JSON by Go hosts.
 */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/**
 * Formats one hclog JSON line (no newline). `@message` is always a string: a non-string
 * message crashes Go hosts.
 */
export function formatLogLine(
  level: LogLevel,
  message: string,
  fields: LogFields = {},
  date = new Date(),
): string {
  const entry: Record<string, unknown> = {
    '@level': level,
    '@message': String(message),
    '@timestamp': formatTimestamp(date),
  };
  for (const key of Object.keys(fields)) {
    if (RESERVED.has(key)) continue;
    const value = fields[key];
    entry[key] = value instanceof Error ? value.message : value;
  }
  return JSON.stringify(entry);
}

const PREFIXES: ReadonlyArray<[string, LogLevel]> = [
  ['[TRACE]', 'trace'],
  ['[DEBUG]', 'debug'],
  ['[INFO]', 'info'],
  ['[WARN]', 'warn'],
  ['[ERROR]', 'error'],
];

/**
 * Parses one stderr line the way go-plugin's host does: an hclog JSON line is taken at its
 * `@level` with its other keys as fields; any other line is taken at the level of a
 * `[LEVEL]` prefix, or at debug.
 */
export function parseLogLine(line: string): LogEntry {
  const json = line.startsWith('{') ? parseJsonEntry(line) : undefined;
  if (json) return json;
  for (const [prefix, level] of PREFIXES) {
    if (line.startsWith(prefix))
      return { level, message: line.slice(prefix.length).trimStart(), fields: {} };
  }
  return { level: 'debug', message: line, fields: {} };
}

function parseJsonEntry(line: string): LogEntry | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  // go-plugin drops lines whose timestamp does not parse back to plain text; match it.
  if (
    typeof rec['@message'] !== 'string' ||
    typeof rec['@timestamp'] !== 'string' ||
    !TIMESTAMP.test(rec['@timestamp'])
  ) {
    return undefined;
  }
  const raw = typeof rec['@level'] === 'string' ? rec['@level'].toLowerCase() : '';
  const level = (LOG_LEVELS as readonly string[]).includes(raw) ? (raw as LogLevel) : undefined;
  if (!level) return { level: 'debug', message: line, fields: {} };
  const fields: LogFields = {};
  for (const key of Object.keys(rec)) if (!RESERVED.has(key)) fields[key] = rec[key];
  return { level, message: rec['@message'], fields };
}
