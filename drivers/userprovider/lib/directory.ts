// Lookups over an in-memory list of users, shared by the demo and json drivers.
import {
  RpcError,
  Status,
  type Handlers,
  type User,
  type UserId,
  type userprovider,
} from 'driverkit/driver';

type UserProviderV1 = (typeof userprovider)['versions'][1];
export type LookupHandlers = Omit<Handlers<UserProviderV1>, 'configure'>;

const CLAIMS = ['mail', 'username', 'uid'] as const;

function requireId(id: UserId | undefined): UserId {
  if (!id?.opaqueId) throw new RpcError(Status.INVALID_ARGUMENT, 'user_id.opaque_id is required');
  return id;
}

function withoutGroups(user: User, skip: boolean): User {
  return skip ? { ...user, groups: [] } : user;
}

/** The four lookup methods of UserProvider over whatever `users()` returns now. */
export function directoryHandlers(users: () => readonly User[]): LookupHandlers {
  const byId = (id: UserId) => {
    const u = users().find(
      (u) => u.id?.opaqueId === id.opaqueId && (!id.idp || u.id?.idp === id.idp),
    );
    if (!u)
      throw new RpcError(
        Status.NOT_FOUND,
        `user ${JSON.stringify(id.opaqueId)} not found${id.idp ? ` at ${JSON.stringify(id.idp)}` : ''}`,
      );
    return u;
  };
  return {
    getUser: (req) => ({
      user: withoutGroups(byId(requireId(req.userId)), req.skipFetchingGroups),
    }),
    getUserByClaim: (req) => {
      if (!(CLAIMS as readonly string[]).includes(req.claim)) {
        throw new RpcError(
          Status.INVALID_ARGUMENT,
          `unknown claim ${JSON.stringify(req.claim)}: expected one of ${CLAIMS.join(', ')}`,
        );
      }
      if (!req.value)
        throw new RpcError(
          Status.INVALID_ARGUMENT,
          `a value for claim ${JSON.stringify(req.claim)} is required`,
        );
      const user = users().find((u) =>
        req.claim === 'mail'
          ? u.mail === req.value
          : req.claim === 'username'
            ? u.username === req.value
            : String(u.uidNumber) === req.value,
      );
      if (!user)
        throw new RpcError(
          Status.NOT_FOUND,
          `no user with ${req.claim} ${JSON.stringify(req.value)}`,
        );
      return { user: withoutGroups(user, req.skipFetchingGroups) };
    },
    getUserGroups: (req) => ({ groups: byId(requireId(req.userId)).groups }),
    findUsers: (req) => {
      const q = req.query.trim().toLowerCase();
      if (!q) return { users: [] };
      const hits = users().filter((u) =>
        [u.username, u.mail, u.displayName, u.id?.opaqueId ?? ''].some((field) =>
          field.toLowerCase().includes(q),
        ),
      );
      return { users: hits.map((u) => withoutGroups(u, req.skipFetchingGroups)) };
    },
  };
}
