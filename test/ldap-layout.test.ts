// The LDAP drivers against a directory laid out unlike the fixture the other tests use:
// users in several subtrees, RDNs that are not the login name (one with a comma), a
// non-ASCII name, a uidNumber past 2^31, an entry that is not a user, a server size limit
// of 500, and ACLs under which only the service account reads other users' entries.
import { describe, expect, it } from 'vitest';
import { authprovider } from '../src/contracts/authprovider.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { expectRejection, useDriver } from './helpers.js';
import { BIN } from './paths.js';
import { BASE_DN, hasSlapd, startSlapd } from './slapd.js';

const PEOPLE = `ou=people,${BASE_DN}`;
const READER = `cn=reader,${BASE_DN}`;
const JDOE_DN = `cn=Doe\\, John,ou=staff,${PEOPLE}`;
const JDOE_ID = '11111111-1111-4111-8111-111111111111';
const ZOE = 'Zoë Ünal';
const STUDENTS = 600;

/** `name: value`, base64 (`name:: …`) when LDIF needs it (non-ASCII). */
const line = (name: string, value: string) =>
  /^[\x20-\x7e]*$/.test(value)
    ? `${name}: ${value}`
    : `${name}:: ${Buffer.from(value).toString('base64')}`;

function person(dn: string, p: { uid: string; cn: string; uuid: string; uidNumber: string }) {
  return [
    line('dn', dn),
    'objectClass: inetOrgPerson',
    'objectClass: posixAccount',
    line('cn', p.cn),
    line('sn', p.cn.split(' ').at(-1)!),
    line('displayName', p.cn),
    `uid: ${p.uid}`,
    `mail: ${p.uid}@example.org`,
    `uidNumber: ${p.uidNumber}`,
    'gidNumber: 100',
    `homeDirectory: /home/${p.uid}`,
    `userPassword: ${p.uid}-secret`,
    `entryUUID: ${p.uuid}`,
    '',
    '',
  ].join('\n');
}

function layoutLdif(): string {
  const ou = (dn: string, name: string) =>
    `dn: ${dn}\nobjectClass: organizationalUnit\nou: ${name}\n\n`;
  const zoeDn = `cn=${ZOE},ou=staff,${PEOPLE}`;
  return [
    ou(PEOPLE, 'people'),
    ou(`ou=staff,${PEOPLE}`, 'staff'),
    ou(`ou=students,${PEOPLE}`, 'students'),
    ou(`ou=groups,${BASE_DN}`, 'groups'),
    `dn: ${READER}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: reader-secret\n\n`,
    person(JDOE_DN, { uid: 'jdoe', cn: 'Doe, John', uuid: JDOE_ID, uidNumber: '3000000000' }),
    person(zoeDn, {
      uid: 'zunal',
      cn: ZOE,
      uuid: '22222222-2222-4222-8222-222222222222',
      uidNumber: '1002',
    }),
    // Has a uid, but is no account of a person: never a user.
    `dn: uid=decoy,ou=staff,${PEOPLE}\nobjectClass: account\nuid: decoy\n\n`,
    ...Array.from({ length: STUDENTS }, (_, i) =>
      person(`cn=Student ${i},ou=students,${PEOPLE}`, {
        uid: `student${i}`,
        cn: `Student ${i}`,
        uuid: `33333333-3333-4333-8333-${String(i).padStart(12, '0')}`,
        uidNumber: String(20_000 + i),
      }),
    ),
    [
      `dn: cn=staff,ou=groups,${BASE_DN}`,
      'objectClass: groupOfNames',
      'cn: staff',
      line('member', JDOE_DN),
      line('member', zoeDn),
      '',
      '',
    ].join('\n'),
  ].join('');
}

const slapdOptions = {
  global: ['sizelimit 500'],
  access: [
    'access to attrs=userPassword by self write by anonymous auth by * none',
    // A user bound as themselves sees their own entry; the service account sees all.
    `access to dn.subtree="${PEOPLE}" by dn.exact="${READER}" read by self read by * none`,
    'access to * by users read by anonymous auth',
  ],
};

/** The keys both drivers share, bound as the service account (not the root DN). */
const config = (url: string) => ({
  uri: url,
  bind_username: READER,
  bind_password: 'reader-secret',
  user_base_dn: PEOPLE,
  group_base_dn: `ou=groups,${BASE_DN}`,
  group_objectclass: 'groupOfNames',
  timeout_ms: 10_000,
});

describe.skipIf(!hasSlapd)('LDAP drivers on a directory of another layout (real slapd)', () => {
  it('UserProvider: users in subtrees, RDN not the login, a comma, non-ASCII, a big uidNumber', async () => {
    const slapd = await startSlapd(layoutLdif(), slapdOptions);
    const driver = useDriver({ name: 'ldap', path: BIN.ldap, contract: userprovider });
    await driver.ready;
    const { client } = driver;
    await client.configure({ config: { ...config(slapd.url), find_limit: 1000 } });
    const byName = await client.getUserByClaim({ claim: 'username', value: 'jdoe' });
    expect(byName.user).toMatchObject({
      username: 'jdoe',
      displayName: 'Doe, John',
      uidNumber: '3000000000',
      // groupOfNames membership by the DN whose RDN holds a comma.
      groups: ['staff'],
    });
    expect((await client.getUser({ userId: { opaqueId: JDOE_ID } })).user?.username).toBe('jdoe');
    const zoe = await client.getUserByClaim({ claim: 'username', value: 'zunal' });
    expect(zoe.user).toMatchObject({ displayName: ZOE, groups: ['staff'] });
    expect((await client.findUsers({ query: 'Ünal' })).users.map((u) => u.username)).toEqual([
      'zunal',
    ]);
    // An entry with a uid that is not a person's account is nobody.
    expect((await client.findUsers({ query: 'decoy' })).users).toEqual([]);
    const none = await expectRejection(
      client.getUserByClaim({ claim: 'username', value: 'decoy' }),
      RpcError,
    );
    expect(none.statusName).toBe('NOT_FOUND');
    // 600 students, find_limit 1000, and the server's size limit of 500: the server's cap is
    // what comes back, not an error (it was INTERNAL "Code: 0x4").
    const students = await client.findUsers({ query: 'student', skipFetchingGroups: true });
    expect(students.users.length).toBe(500);
    expect(STUDENTS).toBeGreaterThan(500);
  }, 60_000);

  it('AuthProvider: a user whose RDN is not the login, under ACLs that hide other users', async () => {
    const slapd = await startSlapd(layoutLdif(), slapdOptions);
    const driver = useDriver({ name: 'auth-ldap', path: BIN.authLdap, contract: authprovider });
    await driver.ready;
    await driver.client.configure({
      config: { ...config(slapd.url), login_attributes: ['uid', 'mail'] },
    });
    for (const clientId of ['jdoe', 'jdoe@example.org']) {
      const ok = await driver.client.authenticate({ clientId, clientSecret: 'jdoe-secret' });
      expect(ok.user).toMatchObject({ username: 'jdoe', groups: ['staff'] });
    }
    const wrong = await expectRejection(
      driver.client.authenticate({ clientId: 'jdoe', clientSecret: 'zunal-secret' }),
      RpcError,
    );
    expect(wrong.statusName).toBe('UNAUTHENTICATED');
    const decoy = await expectRejection(
      driver.client.authenticate({ clientId: 'decoy', clientSecret: 'x' }),
      RpcError,
    );
    expect(decoy.statusName).toBe('UNAUTHENTICATED');
  }, 60_000);
});
