// What a test or the bench needs to run a real OpenLDAP (Debian's `slapd`, which .ci/run
// installs): a throw-away mdb database loaded with slapadd, plain LDAP and LDAPS on free
// loopback ports, a test CA, and the fixture directory. No test framework here: the bench
// uses it too (test/slapd.ts adds the tests' cleanup).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificates } from './certs.js';
import { freePort } from './free-port.js';

export const SLAPD = '/usr/sbin/slapd';
export const hasSlapd = existsSync(SLAPD) && existsSync('/etc/ldap/schema/nis.schema');

export const BASE_DN = 'dc=example,dc=org';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'admin-secret';

/** What a test changes in slapd's config. */
export interface SlapdOptions {
  /** Access rules, in place of the default (anyone bound reads everything). */
  access?: string[];
  /** More global lines (`sizelimit 500`, say). */
  global?: string[];
}

/** A slapd ready to run in `dir`: its config, database (`ldif` loaded), CA and addresses. */
export async function prepareSlapd(dir: string, ldif: string, options: SlapdOptions = {}) {
  const tls = certificates(dir, 'ldap');
  mkdirSync(join(dir, 'db'));
  // A binary id like Active Directory's objectGUID (16 bytes, octet string equality), for
  // the id_is_octet_string tests: OpenLDAP's own entryUUID is a string.
  writeFileSync(
    join(dir, 'test-guid.schema'),
    [
      "attributetype ( 1.3.6.1.4.1.59999.1.1 NAME 'testGUID' EQUALITY octetStringMatch",
      '  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )',
      "objectclass ( 1.3.6.1.4.1.59999.2.1 NAME 'testGUIDHolder' AUXILIARY MAY testGUID )",
      '',
    ].join('\n'),
  );
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      ...['core', 'cosine', 'nis', 'inetorgperson'].map(
        (s) => `include /etc/ldap/schema/${s}.schema`,
      ),
      `include ${join(dir, 'test-guid.schema')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `TLSCACertificateFile ${tls.ca}`,
      `TLSCertificateFile ${tls.cert}`,
      `TLSCertificateKeyFile ${tls.key}`,
      ...(options.global ?? []),
      'database mdb',
      'maxsize 1073741824',
      `suffix "${BASE_DN}"`,
      `rootdn "${ADMIN_DN}"`,
      `rootpw ${ADMIN_PASSWORD}`,
      `directory ${join(dir, 'db')}`,
      'index objectClass eq',
      'index uid,cn,mail,displayName eq,sub',
      'index memberUid,member,uidNumber,entryUUID eq',
      ...(options.access ?? [
        // Anyone bound may read; an anonymous client may only bind.
        'access to attrs=userPassword by self write by anonymous auth by * none',
        'access to * by users read by anonymous auth',
      ]),
      '',
    ].join('\n'),
  );
  const root = `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n`;
  writeFileSync(join(dir, 'data.ldif'), root + ldif);
  execFileSync('/usr/sbin/slapadd', ['-q', '-f', conf, '-l', join(dir, 'data.ldif')], {
    stdio: 'pipe',
  });
  const [port, tlsPort] = [await freePort(), await freePort()];
  return {
    conf,
    ca: tls.ca,
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://127.0.0.1:${tlsPort}`,
  };
}

/** slapd's arguments: in the foreground (`-d stats`, which says "slapd starting" when ready). */
export const slapdArgs = (s: { conf: string; url: string; ldapsUrl: string }) => [
  '-d',
  'stats',
  '-h',
  `${s.url}/ ${s.ldapsUrl}/`,
  '-f',
  s.conf,
];

/** One user entry under ou=users: the three users of examples/users.json are made of these. */
export function userLdif(u: {
  uid: string;
  entryUUID: string;
  cn: string;
  mail: string;
  uidNumber: number;
  gidNumber: number;
  password?: string;
  ou?: string;
  /** More attribute lines, `name: value`. */
  extra?: string[];
}): string {
  return [
    `dn: uid=${u.uid},ou=${u.ou ?? 'users'},${BASE_DN}`,
    'objectClass: inetOrgPerson',
    'objectClass: posixAccount',
    'objectClass: testGUIDHolder',
    // The id's 16 bytes, as Active Directory keeps objectGUID.
    `testGUID:: ${Buffer.from(u.entryUUID.replaceAll('-', ''), 'hex').toString('base64')}`,
    `uid: ${u.uid}`,
    `cn: ${u.cn}`,
    `sn: ${u.cn.split(' ').at(-1)}`,
    `displayName: ${u.cn}`,
    `mail: ${u.mail}`,
    `uidNumber: ${u.uidNumber}`,
    `gidNumber: ${u.gidNumber}`,
    `homeDirectory: /home/${u.uid}`,
    `entryUUID: ${u.entryUUID}`,
    ...(u.password ? [`userPassword: ${u.password}`] : []),
    ...(u.extra ?? []),
    '',
    '',
  ].join('\n');
}

/**
 * The directory of examples/users.json (ids as entryUUID), its groups as posixGroups
 * (memberUid) and one groupOfNames (member DNs), and a user with filter characters in its
 * name for the injection tests.
 */
export function fixtureLdif(): string {
  const ou = (name: string) =>
    `dn: ou=${name},${BASE_DN}\nobjectClass: organizationalUnit\nou: ${name}\n\n`;
  const posix = (cn: string, gid: number, members: string[]) =>
    `dn: cn=${cn},ou=groups,${BASE_DN}\nobjectClass: posixGroup\ncn: ${cn}\ngidNumber: ${gid}\n${members.map((m) => `memberUid: ${m}`).join('\n')}\n\n`;
  return [
    ou('users'),
    ou('groups'),
    userLdif({
      uid: 'einstein',
      entryUUID: '4c510ada-c86b-4815-8820-42cdf82c3d51',
      cn: 'Albert Einstein',
      mail: 'einstein@example.org',
      uidNumber: 123,
      gidNumber: 987,
      password: 'relativity',
    }),
    userLdif({
      uid: 'marie',
      entryUUID: 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c',
      cn: 'Marie Curie',
      mail: 'marie@example.org',
      uidNumber: 456,
      gidNumber: 987,
      password: 'radioactivity',
    }),
    userLdif({
      uid: 'richard',
      entryUUID: '932b4540-8d16-481e-8ef4-588e4b6b151c',
      cn: 'Richard Feynman',
      mail: 'richard@example.org',
      uidNumber: 789,
      gidNumber: 987,
      password: 'superfluidity',
    }),
    userLdif({
      uid: 'star*name',
      entryUUID: '00000000-0000-4000-8000-00000000002a',
      cn: 'Star (Paren) Name',
      mail: 'star@example.com',
      uidNumber: 42,
      gidNumber: 42,
    }),
    // Locked: the auth provider's locked_filter is (employeeType=locked) in the tests.
    userLdif({
      uid: 'locked',
      entryUUID: '6f0a1e2b-0000-4000-8000-00000000dead',
      cn: 'Locked Out',
      mail: 'locked@locked.test',
      uidNumber: 999,
      gidNumber: 987,
      password: 'locked',
      extra: ['employeeType: locked'],
    }),
    posix('sailing-lovers', 1001, ['einstein']),
    posix('violin-haters', 1002, ['einstein']),
    posix('physics-lovers', 1003, ['einstein', 'marie', 'richard']),
    posix('radium-lovers', 1004, ['marie']),
    posix('polonium-lovers', 1005, ['marie']),
    posix('quantum-lovers', 1006, ['richard']),
    posix('philosophy-haters', 1007, ['richard']),
    `dn: cn=relativity-fans,ou=groups,${BASE_DN}\nobjectClass: groupOfNames\ncn: relativity-fans\nmember: uid=einstein,ou=users,${BASE_DN}\n\n`,
  ].join('');
}

/** `ou=bulk` with `n` users (user0, user1, …, mail userN@bulk.example.org): a large directory. */
export function bulkLdif(n: number): string {
  const users = Array.from({ length: n }, (_, i) =>
    userLdif({
      uid: `user${String(i).padStart(5, '0')}`,
      entryUUID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      cn: `Bulk User ${i}`,
      mail: `user${i}@bulk.example.org`,
      uidNumber: 100_000 + i,
      gidNumber: 100,
      ou: 'bulk',
    }),
  ).join('');
  return `dn: ou=bulk,${BASE_DN}\nobjectClass: organizationalUnit\nou: bulk\n\n${users}`;
}
