// Users and groups read from LDAP by the configured schema: the searches UserProvider's
// methods make, every value from a request escaped (filter.ts), and entries turned into
// the proto's User.
import type { User } from 'driverkit/driver';
import type { Client, Entry, Filter } from 'ldapts';
import type { LdapConfig } from './config.js';
import { and, contains, equals, or, requestValue } from './filter.js';
import { checkCancelled, type Deadline, type Pool, secondsLeft } from './pool.js';

/** More than one entry matches a value that must name one user: nobody is chosen. */
export class Ambiguous extends Error {}

/** A user entry: its DN (for groupOfNames membership) and the User it maps to. */
export interface Found {
  dn: string;
  user: User;
}

export class Directory {
  readonly #userAttributes: string[];

  constructor(
    private readonly config: LdapConfig,
    private readonly pool: Pool,
  ) {
    const u = config.user;
    this.#userAttributes = [u.id, u.displayName, u.userName, u.mail, u.uidNumber, u.gidNumber];
  }

  /** The user whose id attribute is `id` (a UUID string for a binary id), if any. */
  byId(id: string, deadline: Deadline): Promise<Found | undefined> {
    const { user } = this.config;
    requestValue('the id', id);
    if (!user.idIsOctetString) return this.#one(equals(user.id, id), deadline);
    const bytes = uuidBytes(id);
    // Not a UUID: no entry can have it. The bytes go as bytes: a filter string's `\XX`
    // escapes would be read back as text and sent as UTF-8, changing every byte over 0x7F.
    return bytes ? this.#one(equals(user.id, bytes), deadline) : Promise.resolve(undefined);
  }

  /** The user with `value` as its mail, user name or uid number (`claim`). */
  byClaim(claim: 'mail' | 'username' | 'uid', value: string, deadline: Deadline) {
    const { user } = this.config;
    const attr =
      claim === 'mail' ? user.mail : claim === 'username' ? user.userName : user.uidNumber;
    return this.#one(equals(attr, requestValue(`the ${claim}`, value)), deadline);
  }

  /** The user whose `attr` (a login attribute) is `value`, if any. */
  byAttribute(attr: string, value: string, deadline: Deadline): Promise<Found | undefined> {
    return this.#one(equals(attr, requestValue('the client id', value)), deadline);
  }

  /** Whether the user at `dn` also matches `filter` (a locked_filter, say). */
  async matches(dn: string, filter: Filter, deadline: Deadline): Promise<boolean> {
    const entries = await this.pool.run(
      async (c) =>
        (
          await c.search(dn, {
            scope: 'base',
            filter,
            attributes: ['1.1'],
            timeLimit: secondsLeft(deadline),
          })
        ).searchEntries,
      deadline,
    );
    return entries.length > 0;
  }

  /** The names of the groups `found` is a member of. */
  async groupsOf(found: Found, deadline: Deadline): Promise<string[]> {
    const { group } = this.config;
    const member = group.memberIsDn ? found.dn : found.user.username;
    if (!member) return [];
    const filter = and(
      equals('objectClass', this.config.groupObjectClass),
      this.config.groupFilter,
      equals(group.member, member),
    );
    const entries = await this.pool.run(
      async (c) =>
        (
          await c.search(this.config.groupBaseDn, {
            scope: 'sub',
            filter,
            attributes: [group.groupName],
            timeLimit: secondsLeft(deadline),
          })
        ).searchEntries,
      deadline,
    );
    return entries
      .map((e: Entry) => first(e[group.groupName]))
      .filter(Boolean)
      .sort();
  }

  /**
   * Users whose user name, mail or display name contains `query`, at most `find_limit`, read
   * page by page (RFC 2696): a large directory is neither loaded whole nor timed out.
   */
  async find(query: string, deadline: Deadline): Promise<Found[]> {
    const { user, findLimit, pageSize } = this.config;
    const q = requestValue('the query', query).trim();
    if (!q) return [];
    // The id too, whole, as the proto says (an octet-string id is matched by GetUser alone).
    const byId = user.idIsOctetString ? [] : [equals(user.id, q)];
    const filter = this.#users(
      or(
        ...byId,
        contains(user.userName, q),
        contains(user.mail, q),
        contains(user.displayName, q),
      ),
    );
    return this.pool.run(async (c) => {
      const out: Found[] = [];
      const pages = c.searchPaginated(this.config.userBaseDn, {
        scope: 'sub',
        filter,
        attributes: this.#userAttributes,
        explicitBufferAttributes: user.idIsOctetString ? [user.id] : [],
        paged: { pageSize: Math.min(pageSize, findLimit) },
        // With a size limit of its own, ldapts takes a server's smaller one (sizeLimitExceeded)
        // as the end of the results, not as an error: a server capped at 500 gives 500.
        sizeLimit: findLimit,
        timeLimit: secondsLeft(deadline),
      });
      for await (const page of pages) {
        // Its caller gone, no next page is asked for.
        checkCancelled(deadline);
        for (const e of page.searchEntries) {
          out.push(this.#toFound(e));
          if (out.length >= findLimit) return out;
        }
      }
      return out;
    }, deadline);
  }

  /** Searches users by `match` (with the object class and user_filter); the one entry. */
  async #one(match: Filter, deadline: Deadline): Promise<Found | undefined> {
    const { user } = this.config;
    const entries = await this.pool.run(
      async (c: Client) =>
        (
          await c.search(this.config.userBaseDn, {
            scope: 'sub',
            filter: this.#users(match),
            attributes: this.#userAttributes,
            explicitBufferAttributes: user.idIsOctetString ? [user.id] : [],
            sizeLimit: 2,
            timeLimit: secondsLeft(deadline),
          })
        ).searchEntries,
      deadline,
    );
    if (entries.length > 1) throw new Ambiguous(`more than one entry matches ${match}`);
    return entries[0] ? this.#toFound(entries[0]) : undefined;
  }

  #users(match: Filter): Filter {
    return and(equals('objectClass', this.config.userObjectClass), this.config.userFilter, match);
  }

  #toFound(e: Entry): Found {
    const { user, idp, mailVerified } = this.config;
    const id = e[user.id];
    const opaqueId =
      Buffer.isBuffer(id) || (Array.isArray(id) && Buffer.isBuffer(id[0]))
        ? uuidString(Array.isArray(id) ? (id[0] as Buffer) : (id as Buffer))
        : first(id);
    return {
      dn: e.dn,
      user: {
        id: { idp, opaqueId, type: 1 },
        username: first(e[user.userName]),
        mail: first(e[user.mail]),
        mailVerified,
        displayName: first(e[user.displayName]),
        groups: [],
        // int64: decimal strings, as ts-proto gives them.
        uidNumber: integer(first(e[user.uidNumber])),
        gidNumber: integer(first(e[user.gidNumber])),
      },
    };
  }
}

/** A decimal integer attribute as int64's string, '0' when absent or not one. */
const integer = (v: string) => (/^-?\d+$/.test(v) ? v : '0');

/** The first value of an attribute as a string ('' when absent). */
function first(v: Entry[string] | undefined): string {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? '' : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** 16 bytes in order as a UUID string, as Reva shows a binary id (entryUUID, objectGUID). */
export function uuidString(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The bytes of a UUID string, or undefined for anything else. */
export function uuidBytes(id: string): Buffer | undefined {
  return /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(id)
    ? Buffer.from(id.replaceAll('-', ''), 'hex')
    : undefined;
}
