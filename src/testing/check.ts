import { RpcError } from '../errors.js';
import { type StatusName, statusName } from '../status.js';

/** A conformance case that did not hold: the message says what was expected and what came. */
export class ConformanceFailure extends Error {
  override name = 'ConformanceFailure';
}

function show(v: unknown): string {
  return typeof v === 'string'
    ? JSON.stringify(v)
    : (JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v));
}

/** Deep equality of plain data (what decoded messages are). */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  return (
    ka.length === Object.keys(b).length &&
    ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/** The assertions a conformance case makes; each failure names what it checked. */
export const check = {
  /** `actual` equals `expected` (deeply). */
  equal(actual: unknown, expected: unknown, what: string): void {
    if (!same(actual, expected))
      throw new ConformanceFailure(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  },
  /** Every field of `expected` equals the same field of `actual`. */
  fields(actual: unknown, expected: Record<string, unknown>, what: string): void {
    for (const [k, v] of Object.entries(expected))
      check.equal((actual as Record<string, unknown> | undefined)?.[k], v, `${what}.${k}`);
  },
  /** `text` contains `part`. */
  contains(text: string | undefined, part: string, what: string): void {
    if (!text?.includes(part))
      throw new ConformanceFailure(
        `${what}: expected it to contain ${show(part)}, got ${show(text)}`,
      );
  },
  /** `call` fails with gRPC status `status`; resolves with the error for more checks. */
  async rejects(call: Promise<unknown>, status: StatusName, what: string): Promise<RpcError> {
    const outcome = await call.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (!('error' in outcome))
      throw new ConformanceFailure(
        `${what}: expected status ${status}, got OK with ${show(outcome.value)}`,
      );
    const err = outcome.error;
    if (!(err instanceof RpcError))
      throw new ConformanceFailure(
        `${what}: expected status ${status}, got ${err instanceof Error ? err.message : show(err)}`,
      );
    if (statusName(err.status) !== status)
      throw new ConformanceFailure(
        `${what}: expected status ${status}, got ${err.statusName} (${show(err.details)})`,
      );
    return err;
  },
};
