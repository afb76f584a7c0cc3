// The LDAP auth provider: a client id is looked up by its login attributes (as the service
// account), then its secret checked by binding as that user on a connection of its own.
// Configured as the LDAP user provider (docs/drivers/ldap.md), plus `login_attributes`
// (default ["uid"]) and `locked_filter` (an account matching it is locked).
import { randomUUID } from 'node:crypto';
import type { Filter } from 'ldapts';
import {
  authprovider,
  createLogger,
  RpcError,
  type ServingDriver,
  serve,
  Status,
} from 'driverkit/driver';
import { checkPlaintextBind, fail, filter } from '../../lib/ldap/config.js';
import { type Opened, openDirectory, replace } from '../../lib/ldap/configure.js';
import { Ambiguous, type Directory, type Found } from '../../lib/ldap/directory.js';
import { attribute, BadValue } from '../../lib/ldap/filter.js';
import { watchHealth } from '../../lib/ldap/health.js';
import { Cancelled, type Deadline, Unreachable, workSignal } from '../../lib/ldap/pool.js';

const log = createLogger();
const REFUSED = 'invalid client id or secret';
let current: (Opened & ReturnType<typeof extraKeys>) | undefined;
let served: ServingDriver | undefined;

function extraKeys(raw: Record<string, unknown>): {
  login: string[];
  locked: Filter | undefined;
} {
  // Users' passwords go in the bind: over the network only inside TLS, unless told.
  checkPlaintextBind(raw, "users' passwords");
  const login = raw.login_attributes ?? ['uid'];
  if (!Array.isArray(login) || login.length === 0 || !login.every((a) => typeof a === 'string'))
    fail('login_attributes', 'a non-empty list of attribute names', login);
  for (const a of login as string[])
    try {
      attribute(a);
    } catch {
      fail('login_attributes', 'attribute names', a);
    }
  return { login: login as string[], locked: filter(raw.locked_filter, 'locked_filter') };
}

/**
 * The account the login attributes name, searched by every attribute every time (so that
 * an unknown id costs as many searches as a known one); the first attribute that finds
 * one wins. Undefined when none does or one is ambiguous.
 */
async function account(d: Directory, login: string[], id: string, deadline: Deadline) {
  const hits = await Promise.all(
    login.map((attr) =>
      d.byAttribute(attr, id, deadline).catch((err) => {
        if (err instanceof Ambiguous) return 'ambiguous' as const;
        throw err;
      }),
    ),
  );
  const first = hits.find((h) => h !== undefined);
  return first === 'ambiguous' ? { ambiguous: true as const } : first;
}

served = await serve({
  contract: authprovider,
  info: { name: 'ldap' },
  onShutdown: () => current?.pool.close(),
  handlers: {
    1: {
      configure: async ({ config }) => {
        const next = openDirectory(
          (config ?? {}) as Record<string, unknown>,
          ['login_attributes', 'locked_filter', 'allow_plaintext_bind'],
          extraKeys,
        );
        const previous = current;
        current = next;
        await replace(next, previous, served);
        return {};
      },
      authenticate: async ({ clientId, clientSecret }, { signal }) => {
        const c = current;
        if (!c)
          throw new RpcError(Status.FAILED_PRECONDITION, 'not configured: call Configure first');
        const work = workSignal(signal);
        const deadline = { at: Date.now() + c.config.timeoutMs, signal: work.signal };
        try {
          const hit = clientId
            ? await account(c.directory, c.login, clientId, deadline)
            : undefined;
          const found: Found | undefined = hit && !('ambiguous' in hit) ? hit : undefined;
          // An unknown id costs a bind too (to a DN that is nobody's), so the time taken
          // does not say which ids exist.
          const dn = found?.dn ?? `uid=${randomUUID()},${c.config.userBaseDn}`;
          const right = await c.pool.verify(dn, clientSecret, deadline);
          // Unknown, ambiguous, wrong or empty secret: one answer, the reason in the log only.
          if (!found || !right) {
            log.info('authentication refused', {
              reason: !hit ? 'unknown client id' : !found ? 'ambiguous client id' : 'wrong secret',
            });
            throw new RpcError(Status.UNAUTHENTICATED, REFUSED);
          }
          if (c.locked && (await c.directory.matches(found.dn, c.locked, deadline))) {
            log.info('authentication refused', { reason: 'account locked', dn: found.dn });
            throw new RpcError(Status.PERMISSION_DENIED, 'the account is locked');
          }
          const user = { ...found.user, groups: await c.directory.groupsOf(found, deadline) };
          const value = Buffer.from(JSON.stringify({ user_id: user.id }));
          return { user, scopes: { user: { decoder: 'json', value, role: 'owner' } } };
        } catch (err) {
          if (err instanceof RpcError) throw err;
          if (err instanceof Cancelled) throw new RpcError(Status.CANCELLED, err.message);
          if (err instanceof BadValue) throw new RpcError(Status.INVALID_ARGUMENT, err.message);
          // Health follows the server on its own (watchHealth): a caller cannot flip it.
          if (err instanceof Unreachable)
            throw new RpcError(Status.UNAVAILABLE, `LDAP server unreachable: ${err.message}`);
          log.error('LDAP authentication failed', { error: (err as Error).message });
          throw new RpcError(
            Status.INTERNAL,
            `LDAP authentication failed: ${(err as Error).message}`,
          );
        } finally {
          work.abort();
        }
      },
    },
  },
});
watchHealth(
  () => current,
  () => served,
);
