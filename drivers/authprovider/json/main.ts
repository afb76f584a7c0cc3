// The JSON auth provider: accounts from the file named by `users` in its configuration,
// each a UserProvider user with a `password_hash` (scrypt; `main.js hash` makes one from
// stdin) and optionally `locked: true`. Passwords are never stored nor logged.
import { readFile } from 'node:fs/promises';
import {
  authprovider,
  createLogger,
  RpcError,
  serve,
  Status,
  type User,
  userprovider,
} from 'driverkit/driver';
import { costOf, decoy, HASH_RULE, hashPassword, isHash, verifyAtEveryCost } from './password.js';

interface Account {
  user: User;
  hash: string;
  locked: boolean;
}

// `main.js hash`: prints the hash of the password on stdin, for the users file.
if (process.argv[2] === 'hash') {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  process.stdout.write(
    `${await hashPassword(
      Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, ''),
    )}\n`,
  );
  process.exit(0);
}

const log = createLogger();
let accounts: Map<string, Account> | undefined;
/** One decoy hash per cost among the accounts (the default's when there are none). */
let decoys = new Map([[costOf(decoy()), decoy()]]);
/** The one answer to a wrong secret and an unknown id alike. */
const REFUSED = 'invalid client id or secret';

async function load(file: string): Promise<Map<string, Account>> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `cannot read accounts file ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? 'not valid JSON'}`,
    );
  }
  if (!Array.isArray(data))
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `accounts file ${JSON.stringify(file)} must hold a JSON array`,
    );
  const out = new Map<string, Account>();
  const bad = (i: number, what: string) =>
    new RpcError(
      Status.FAILED_PRECONDITION,
      `accounts file ${JSON.stringify(file)}: entry ${i}: ${what}`,
    );
  data.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw bad(i, 'expected an object');
    const { password_hash: hash, locked, ...user } = entry as Record<string, unknown>;
    if (typeof hash !== 'string' || !isHash(hash))
      throw bad(i, `expected password_hash ${HASH_RULE} (plain passwords are refused)`);
    const parsed = userprovider.versions[1].methods.getUser.responseType.fromJSON({ user }).user!;
    if (!parsed.username) throw bad(i, 'expected a username');
    if (out.has(parsed.username))
      throw bad(i, `username ${JSON.stringify(parsed.username)} is there twice`);
    out.set(parsed.username, { user: parsed, hash, locked: locked === true });
  });
  return out;
}

await serve({
  contract: authprovider,
  info: { name: 'json' },
  handlers: {
    1: {
      configure: async ({ config }) => {
        const file = (config as { users?: unknown } | undefined)?.users;
        if (typeof file !== 'string' || !file)
          throw new RpcError(
            Status.INVALID_ARGUMENT,
            'config: expected {"users": "<accounts file>"}',
          );
        accounts = await load(file);
        const costs = new Set([...accounts.values()].map((a) => costOf(a.hash)));
        decoys = costs.size
          ? new Map([...costs].map((c) => [c, decoy(c)]))
          : new Map([[costOf(decoy()), decoy()]]);
        log.info('accounts loaded', { file, count: accounts.size });
        return {};
      },
      authenticate: async ({ clientId, clientSecret }) => {
        if (!accounts)
          throw new RpcError(Status.FAILED_PRECONDITION, 'not configured: call Configure first');
        const account = accounts.get(clientId);
        // An unknown id costs what a known one does (see verifyAtEveryCost).
        const ok = (await verifyAtEveryCost(clientSecret, account?.hash, decoys)) && !!clientSecret;
        if (!account || !ok) {
          log.info('authentication refused', {
            reason: account ? 'wrong secret' : 'unknown client id',
          });
          throw new RpcError(Status.UNAUTHENTICATED, REFUSED);
        }
        if (account.locked) {
          log.info('authentication refused', { reason: 'account locked', client_id: clientId });
          throw new RpcError(Status.PERMISSION_DENIED, 'the account is locked');
        }
        return {
          user: account.user,
          scopes: {
            user: {
              decoder: 'json',
              value: Buffer.from(JSON.stringify({ user_id: account.user.id })),
              role: 'owner',
            },
          },
        };
      },
    },
  },
});
