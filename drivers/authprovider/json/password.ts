// Password hashes of the JSON auth provider: scrypt (node:crypto), stored as
// `scrypt$N$r$p$SALT$HASH` (base64), never the password itself.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const N = 16384;
const R = 8;
const P = 1;
const MAXMEM = 64 * 1024 * 1024;
/**
 * The costliest parameters accepted: scrypt's memory (128·N·r bytes) at most half of MAXMEM
 * (it needs a little more than that figure), and its work (N·r·p) at most 8 times the
 * default's. Past them a hash is refused at Configure, not failed at each Authenticate.
 */
const MAX_MEMORY = MAXMEM / 2;
const MAX_WORK = 8 * N * R * P;

/** A new hash of `password` with a random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { N, r: R, p: P, maxmem: MAXMEM });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** What the file must hold, as the refusal says it. */
export const HASH_RULE = `"scrypt$N$r$p$SALT$HASH", N a power of two from 1024, with 128·N·r at most ${MAX_MEMORY} bytes and N·r·p at most ${MAX_WORK}`;

/** Whether a stored hash is one this driver can check: scrypt within the cost limits. */
export function isHash(stored: string): boolean {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{16,}$/.exec(stored);
  if (!m) return false;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const powerOfTwo = n >= 1024 && n <= 1 << 20 && (n & (n - 1)) === 0;
  return powerOfTwo && r >= 1 && p >= 1 && 128 * n * r <= MAX_MEMORY && n * r * p <= MAX_WORK;
}

/** A hash's scrypt parameters, `N$r$p`: the cost of checking it. */
export const costOf = (stored: string): string => stored.split('$').slice(1, 4).join('$');

/** Whether `password` matches `stored`, compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [, n, r, p, salt, hash] = stored.split('$');
  const want = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: MAXMEM,
  });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash no password matches, at cost `cost` (`N$r$p`; default the driver's own). */
export function decoy(cost = `${N}$${R}$${P}`): string {
  return `scrypt$${cost}$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;
}

/**
 * Checks `password` against `stored` (or, for an unknown id, nothing) at the same total cost
 * whoever asks: one check at each cost in `decoys`, the account's own hash at its cost, a
 * decoy at every other. Accounts hashed with other parameters (a migration) then take as
 * long as unknown ids, and the time taken says neither which ids exist nor how they hash.
 */
export async function verifyAtEveryCost(
  password: string,
  stored: string | undefined,
  decoys: ReadonlyMap<string, string>,
): Promise<boolean> {
  let ok = false;
  const own = stored === undefined ? undefined : costOf(stored);
  for (const [cost, fake] of decoys) {
    const match = await verifyPassword(password, cost === own ? stored! : fake);
    if (cost === own) ok = match;
  }
  return ok;
}
