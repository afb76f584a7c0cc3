import { parseDuration } from './duration.js';

/** A value read from config: the parsed value, or why it was refused. */
export type Parsed<T> = Ok<T> | Failure;

/** A value that passed. */
export interface Ok<T> {
  ok: true;
  value: T;
}

/**
 * A value that was refused: what was expected, the key path below the key being parsed
 * (for nested tables), and `got` when there is a value to quote (a missing key has none).
 */
export interface Failure {
  ok: false;
  expected: string;
  key?: string;
  got?: unknown;
}

/** Accepts `value`. */
export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });

/** Refuses with what was expected, quoting `got` when given (even `undefined`). */
export function fail(expected: string, ...got: [unknown?]): Failure {
  return got.length ? { ok: false, expected, got: got[0] } : { ok: false, expected };
}

/** Puts a failure one key deeper: `key` before whatever key path it already has. */
export function within(key: string, failure: Failure): Failure {
  return { ...failure, key: failure.key ? `${key}.${failure.key}` : key };
}

/** How an error message quotes a refused value. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a table';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** A TOML table: smol-toml gives dates as Date objects, which are not tables. */
export function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** "10s", "500ms", "2m" or a number of milliseconds, as milliseconds. */
export function duration(v: unknown): Parsed<number> {
  const ms = parseDuration(v);
  return ms === undefined
    ? fail('a duration such as "10s", "500ms" or a number of milliseconds', v)
    : ok(ms);
}

/** A boolean. */
export const flag = (v: unknown): Parsed<boolean> =>
  typeof v === 'boolean' ? ok(v) : fail('true or false', v);

/** An integer >= 0. */
export const count = (v: unknown): Parsed<number> =>
  Number.isInteger(v) && (v as number) >= 0 ? ok(v as number) : fail('a non-negative integer', v);

export const positive = (v: unknown): Parsed<number> =>
  Number.isInteger(v) && (v as number) > 0 ? ok(v as number) : fail('a positive integer', v);

// The table parsers copy, so that entries never share a default's array or object.

/** An array of strings. */
export function strings(v: unknown): Parsed<string[]> {
  return Array.isArray(v) && v.every((a) => typeof a === 'string')
    ? ok([...v])
    : fail('an array of strings', v);
}

/** A table whose values are strings. */
export function stringTable(v: unknown): Parsed<Record<string, string>> {
  return isTable(v) && Object.values(v).every((s) => typeof s === 'string')
    ? ok({ ...(v as Record<string, string>) })
    : fail('a table of strings', v);
}

/** Any table. */
export const table = (v: unknown): Parsed<Record<string, unknown>> =>
  isTable(v) ? ok({ ...v }) : fail('a table', v);

/** One of a few strings: expects `"a" or "b"`. */
export function oneOf<const V extends readonly string[]>(
  values: V,
): (v: unknown) => Parsed<V[number]> {
  return (v) =>
    values.includes(v as string)
      ? ok(v as V[number])
      : fail(values.map((s) => JSON.stringify(s)).join(' or '), v);
}
