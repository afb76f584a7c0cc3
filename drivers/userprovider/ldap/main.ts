// The LDAP user provider: users and groups from an LDAP directory (OpenLDAP, Active
// Directory), configured with the keys of Reva's LDAP user provider. See docs/drivers/ldap.md.
import {
  createLogger,
  RpcError,
  type ServingDriver,
  serve,
  Status,
  type User,
  userprovider,
} from 'driverkit/driver';
import { type Opened, openDirectory, replace } from '../../lib/ldap/configure.js';
import { Ambiguous, type Directory, type Found } from '../../lib/ldap/directory.js';
import { watchHealth } from '../../lib/ldap/health.js';
import { checkPlaintextBind } from '../../lib/ldap/config.js';
import { BadValue } from '../../lib/ldap/filter.js';
import {
  BindRefused,
  Cancelled,
  checkCancelled,
  type Deadline,
  Unreachable,
  workSignal,
} from '../../lib/ldap/pool.js';

const log = createLogger();
let current: Opened | undefined;
let served: ServingDriver | undefined;

const CLAIMS = ['mail', 'username', 'uid'] as const;
/** Group searches FindUsers runs at once, over its pool's connections. */
const GROUP_SEARCHES_AT_ONCE = 32;

/** `fn` over `items`, at most `limit` at once, in order. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function directory() {
  if (!current)
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      'not configured: call Configure with {"uri": "ldap://…", "user_base_dn": "…", …} first',
    );
  return current;
}

/** Runs a lookup; an unreachable server is UNAVAILABLE (and health NOT_SERVING), other LDAP failures INTERNAL. */
async function lookup<T>(
  what: string,
  signal: AbortSignal,
  run: (d: Directory, deadline: Deadline) => Promise<T>,
) {
  const { config, directory: d } = directory();
  const work = workSignal(signal);
  try {
    return await run(d, { at: Date.now() + config.timeoutMs, signal: work.signal });
  } catch (err) {
    if (err instanceof RpcError) throw err;
    // Its caller has its answer already (CANCELLED or DEADLINE_EXCEEDED): nothing to log.
    if (err instanceof Cancelled) throw new RpcError(Status.CANCELLED, err.message);
    if (err instanceof BadValue) throw new RpcError(Status.INVALID_ARGUMENT, err.message);
    // Health follows the server on its own (watchHealth): one failed call does not flip it.
    if (err instanceof Unreachable)
      throw new RpcError(Status.UNAVAILABLE, `LDAP server unreachable: ${err.message}`);
    if (err instanceof BindRefused || err instanceof Ambiguous)
      throw new RpcError(Status.FAILED_PRECONDITION, `LDAP ${what}: ${err.message}`);
    log.error('LDAP operation failed', { what, error: (err as Error).message });
    throw new RpcError(Status.INTERNAL, `LDAP ${what} failed: ${(err as Error).message}`);
  } finally {
    // Answered, failed included: what is still running for this call starts nothing more.
    work.abort();
  }
}

async function withGroups(
  d: Directory,
  found: Found,
  skip: boolean,
  deadline: Deadline,
): Promise<User> {
  return skip ? found.user : { ...found.user, groups: await d.groupsOf(found, deadline) };
}

function notFound(what: string): RpcError {
  return new RpcError(Status.NOT_FOUND, `no user with ${what}`);
}

served = await serve({
  contract: userprovider,
  info: { name: 'ldap' },
  onShutdown: () => current?.pool.close(),
  handlers: {
    1: {
      configure: async ({ config }) => {
        const next = openDirectory(
          (config ?? {}) as Record<string, unknown>,
          ['allow_plaintext_bind'],
          // The service account's password goes in its bind, as a user's does in Authenticate.
          (raw) =>
            ['bind_password', 'bind_password_env', 'bind_password_file'].every(
              (k) => raw[k] === undefined,
            )
              ? {}
              : (checkPlaintextBind(raw, "the service account's password") ?? {}),
        );
        const previous = current;
        current = next;
        // The server may be down now: Configure still succeeds (health says NOT_SERVING).
        const up = await replace(next, previous, served);
        log.info('configured', { uri: next.config.uri, reachable: up });
        return {};
      },
      getUser: ({ userId, skipFetchingGroups }, { signal }) =>
        lookup('GetUser', signal, async (d, deadline) => {
          const id = userId?.opaqueId;
          if (!id) throw new RpcError(Status.INVALID_ARGUMENT, 'user_id.opaque_id is required');
          const found = await d.byId(id, deadline);
          if (!found) throw notFound(`id ${JSON.stringify(id)}`);
          return { user: await withGroups(d, found, skipFetchingGroups, deadline) };
        }),
      getUserByClaim: ({ claim, value, skipFetchingGroups }, { signal }) =>
        lookup('GetUserByClaim', signal, async (d, deadline) => {
          if (!(CLAIMS as readonly string[]).includes(claim))
            throw new RpcError(
              Status.INVALID_ARGUMENT,
              `unknown claim ${JSON.stringify(claim)}: expected one of ${CLAIMS.join(', ')}`,
            );
          if (!value)
            throw new RpcError(Status.INVALID_ARGUMENT, `a value for claim ${claim} is required`);
          const found = await d.byClaim(claim as (typeof CLAIMS)[number], value, deadline);
          if (!found) throw notFound(`${claim} ${JSON.stringify(value)}`);
          return { user: await withGroups(d, found, skipFetchingGroups, deadline) };
        }),
      getUserGroups: ({ userId }, { signal }) =>
        lookup('GetUserGroups', signal, async (d, deadline) => {
          const id = userId?.opaqueId;
          if (!id) throw new RpcError(Status.INVALID_ARGUMENT, 'user_id.opaque_id is required');
          const found = await d.byId(id, deadline);
          if (!found) throw notFound(`id ${JSON.stringify(id)}`);
          return { groups: await d.groupsOf(found, deadline) };
        }),
      findUsers: ({ query, skipFetchingGroups }, { signal }) =>
        lookup('FindUsers', signal, async (d, deadline) => {
          const found = await d.find(query, deadline);
          // A few group searches at a time, not one per user at once: a server queues only
          // so many operations per connection (slapd closes one past 1,000).
          const users = await mapLimited(found, GROUP_SEARCHES_AT_ONCE, (f) => {
            checkCancelled(deadline);
            return withGroups(d, f, skipFetchingGroups, deadline);
          });
          return { users };
        }),
    },
  },
});
watchHealth(
  () => current,
  () => served,
);
