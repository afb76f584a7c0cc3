// The LDAP driver's configuration: Reva's LDAP user provider keys (uri, bind_username,
// user_base_dn, user_schema, …), checked whole at Configure so that a typo fails there and
// names the key, not at the first lookup.
import { readFileSync } from 'node:fs';
import type { Filter } from 'ldapts';
import { attribute, operatorFilter } from './filter.js';

export interface UserSchema {
  id: string;
  /** The id attribute holds bytes (AD's objectGUID): ids are its UUID form. */
  idIsOctetString: boolean;
  displayName: string;
  userName: string;
  mail: string;
  uidNumber: string;
  gidNumber: string;
}

export interface GroupSchema {
  id: string;
  displayName: string;
  groupName: string;
  /** memberUid (posixGroup: holds user names) or member (groupOfNames: holds DNs). */
  member: string;
  /** Whether `member` holds DNs rather than user names. */
  memberIsDn: boolean;
}

export interface LdapConfig {
  uri: string;
  insecure: boolean;
  /** The CA file's PEM (cacert), read at Configure. */
  caPem?: Buffer;
  starttls: boolean;
  bindDn: string;
  bindPassword: string;
  userBaseDn: string;
  groupBaseDn: string;
  userFilter?: Filter;
  userObjectClass: string;
  groupFilter?: Filter;
  groupObjectClass: string;
  idp: string;
  /** Whether the directory's mail addresses count as verified (default false: users may edit their own). */
  mailVerified: boolean;
  user: UserSchema;
  group: GroupSchema;
  poolSize: number;
  /** Milliseconds an operation (and a connect) may take when the call sets no deadline. */
  timeoutMs: number;
  /** The most users FindUsers answers with. */
  findLimit: number;
  /** RFC 2696 page size of searches. */
  pageSize: number;
}

const KEYS = new Set([
  'uri',
  'insecure',
  'cacert',
  'starttls',
  'bind_username',
  'bind_password',
  'bind_password_file',
  'bind_password_env',
  'user_base_dn',
  'group_base_dn',
  'user_filter',
  'user_objectclass',
  'group_filter',
  'group_objectclass',
  'idp',
  'mail_verified',
  'user_schema',
  'group_schema',
  'pool_size',
  'timeout_ms',
  'find_limit',
  'page_size',
]);

/** A configuration mistake: which key, what was expected, what came. */
export class ConfigError extends Error {}

export function fail(key: string, expected: string, got: unknown): never {
  const shown = key.includes('password') ? '(hidden)' : JSON.stringify(got);
  throw new ConfigError(`${key}: expected ${expected}, got ${shown}`);
}

/**
 * Parses and checks a Configure request's config; throws ConfigError naming the key. `extra`
 * are the keys a driver reads itself (the auth provider's `login_attributes`, say).
 */
export function parseConfig(
  raw: Record<string, unknown>,
  extra: readonly string[] = [],
): LdapConfig {
  for (const key of Object.keys(raw))
    if (!KEYS.has(key) && !extra.includes(key))
      fail(key, `one of ${[...KEYS, ...extra].join(', ')}`, key);
  const str = (key: string, fallback?: string): string => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'string' || (fallback === undefined && v === ''))
      fail(key, fallback === undefined ? 'a non-empty string' : 'a string', v);
    return v;
  };
  const bool = (key: string) => {
    const v = raw[key] ?? false;
    if (typeof v !== 'boolean') fail(key, 'true or false', v);
    return v;
  };
  const count = (key: string, fallback: number) => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(key, 'a positive integer', v);
    return v;
  };
  const uri = str('uri');
  if (!/^ldaps?:\/\/[^/]+\/?$/.test(uri))
    fail('uri', 'ldap://HOST[:PORT] or ldaps://HOST[:PORT]', uri);
  const starttls = bool('starttls');
  if (starttls && uri.startsWith('ldaps:')) fail('starttls', 'false with an ldaps:// uri', true);
  const userObjectClass = attribute(str('user_objectclass', 'posixAccount'));
  const groupObjectClass = attribute(str('group_objectclass', 'posixGroup'));
  const us = schema(raw.user_schema, 'user_schema');
  const gs = schema(raw.group_schema, 'group_schema');
  const member = gs.str(
    'member',
    /^groupOf(Unique)?Names$/i.test(groupObjectClass) ? 'member' : 'memberUid',
  );
  return {
    uri,
    insecure: bool('insecure'),
    caPem: raw.cacert === undefined ? undefined : readCa(str('cacert')),
    starttls,
    bindDn: str('bind_username', ''),
    bindPassword: bindPassword(raw),
    userBaseDn: str('user_base_dn'),
    groupBaseDn: str('group_base_dn'),
    userFilter: filter(raw.user_filter, 'user_filter'),
    userObjectClass,
    groupFilter: filter(raw.group_filter, 'group_filter'),
    groupObjectClass,
    idp: str('idp', ''),
    mailVerified: bool('mail_verified'),
    user: {
      id: us.str('id', 'entryUUID'),
      idIsOctetString: us.bool('id_is_octet_string'),
      displayName: us.str('displayName', 'displayName'),
      userName: us.str('userName', 'uid'),
      mail: us.str('mail', 'mail'),
      uidNumber: us.str('uidNumber', 'uidNumber'),
      gidNumber: us.str('gidNumber', 'gidNumber'),
    },
    group: {
      id: gs.str('id', 'entryUUID'),
      displayName: gs.str('displayName', 'cn'),
      groupName: gs.str('groupName', 'cn'),
      member,
      memberIsDn: /^(member|uniqueMember)$/i.test(member),
    },
    poolSize: count('pool_size', 4),
    timeoutMs: count('timeout_ms', 5000),
    findLimit: count('find_limit', 100),
    pageSize: count('page_size', 500),
  };
}

const SCHEMA_KEYS: Record<string, readonly string[]> = {
  user_schema: [
    'id',
    'id_is_octet_string',
    'displayName',
    'userName',
    'mail',
    'uidNumber',
    'gidNumber',
  ],
  group_schema: ['id', 'displayName', 'groupName', 'member'],
};

function schema(raw: unknown, table: string) {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
    fail(table, 'a table of attribute names', raw);
  const t = (raw ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(t))
    if (!SCHEMA_KEYS[table].includes(key))
      fail(`${table}.${key}`, `one of ${SCHEMA_KEYS[table].join(', ')}`, key);
  return {
    str: (key: string, fallback: string) => {
      const v = t[key] ?? fallback;
      if (typeof v !== 'string') fail(`${table}.${key}`, 'an attribute name', v);
      try {
        return attribute(v);
      } catch {
        return fail(`${table}.${key}`, 'an attribute name', v);
      }
    },
    bool: (key: string) => {
      const v = t[key] ?? false;
      if (typeof v !== 'boolean') fail(`${table}.${key}`, 'true or false', v);
      return v;
    },
  };
}

/** An operator's filter key (`user_filter`, `locked_filter`), parsed as one filter. */
export function filter(raw: unknown, key: string): Filter | undefined {
  if (raw !== undefined && typeof raw !== 'string') fail(key, 'an LDAP filter (string)', raw);
  try {
    return operatorFilter(raw as string | undefined);
  } catch {
    return fail(key, 'one LDAP filter such as "(objectClass=person)"', raw);
  }
}

/** The service account's password: required with bind_username (RFC 4513 5.1.2: a DN without one binds anonymously). */
function bindPassword(raw: Record<string, unknown>): string {
  const pw = password(raw);
  if (raw.bind_username !== undefined && raw.bind_username !== '' && !pw)
    fail(
      'bind_password',
      'a password (or bind_password_file, bind_password_env) with bind_username',
      '',
    );
  return pw;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    return fail(
      'cacert',
      'a readable PEM file',
      `${file} (${(err as NodeJS.ErrnoException).code})`,
    );
  }
}

/** bind_password, else the first line of bind_password_file, else $bind_password_env. */
function password(raw: Record<string, unknown>): string {
  const given = ['bind_password', 'bind_password_file', 'bind_password_env'].filter(
    (k) => raw[k] !== undefined,
  );
  if (given.length > 1) fail(given[1], `only one of ${given.join(', ')}`, '');
  const v = raw[given[0]];
  if (given.length && (typeof v !== 'string' || v === '')) fail(given[0], 'a non-empty string', v);
  if (given[0] === 'bind_password_file') {
    try {
      return readFileSync(v as string, 'utf8').split('\n')[0];
    } catch (err) {
      return fail(
        'bind_password_file',
        'a readable file',
        `${v} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  }
  if (given[0] === 'bind_password_env') {
    const env = process.env[v as string];
    if (!env) fail('bind_password_env', 'the name of a set environment variable', v);
    return env;
  }
  return (v as string | undefined) ?? '';
}

/** Whether `uri` names this machine (a plaintext bind there crosses no network). */
const loopback = (uri: string) =>
  /^ldaps?:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?\/?$/.test(uri);

/**
 * Refuses (ConfigError) a password bound over the network in plaintext: `ldap://` off this
 * machine without StartTLS, unless `allow_plaintext_bind = true` accepts it. `whose` says
 * whose passwords (users', the service account's).
 */
export function checkPlaintextBind(raw: Record<string, unknown>, whose: string): void {
  const plaintext = raw.allow_plaintext_bind ?? false;
  if (typeof plaintext !== 'boolean') fail('allow_plaintext_bind', 'true or false', plaintext);
  const uri = String(raw.uri ?? '');
  if (uri.startsWith('ldap:') && raw.starttls !== true && !loopback(uri) && !plaintext)
    fail(
      'uri',
      `ldaps://, or starttls = true: ${whose} would cross the network in plaintext (allow_plaintext_bind = true to accept that)`,
      uri,
    );
}
