// The LDAP UserProvider driver against a real OpenLDAP (slapd): the conformance suite,
// filter injection, both group schemas, TLS both ways, paging over 10,000 users, and a
// server restarted under load or stopped.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { internalServices } from '../src/contracts/internal.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { createClient } from '../src/rpc/client.js';
import { runSuite } from '../src/testing/suite.js';
import { userproviderSuite } from '../src/testing/userprovider.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { captureLogger, expectRejection, spawnUntil, useDriver, waitFor } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';
import {
  ADMIN_DN,
  ADMIN_PASSWORD,
  BASE_DN,
  fixtureLdif,
  hasSlapd,
  type Slapd,
  startSlapd,
  bulkLdif,
} from './slapd.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

/** The LDAP driver, configured for `slapd` with `extra` keys over the fixture's. */
async function ldapDriver(
  slapd: Slapd,
  extra: Record<string, unknown> = {},
  logger = captureLogger(),
) {
  const driver = useDriver({ name: 'ldap', path: BIN.ldap, contract: userprovider, logger });
  await driver.ready;
  await driver.client.configure({
    config: {
      uri: slapd.url,
      bind_username: ADMIN_DN,
      bind_password: ADMIN_PASSWORD,
      user_base_dn: `ou=users,${BASE_DN}`,
      group_base_dn: `ou=groups,${BASE_DN}`,
      idp: 'http://localhost:9998',
      // The fixture's addresses are the directory's own (by default a user may edit theirs).
      mail_verified: true,
      timeout_ms: 1500,
      ...extra,
    },
  });
  return driver;
}

/**
 * 64 callers of GetUser on `client` while `slapd` restarts: 200 calls before, 200 after.
 * The calls that failed, and the connections the server accepted after its restart.
 */
async function restartUnderLoad(
  slapd: Slapd,
  client: Awaited<ReturnType<typeof ldapDriver>>['client'],
) {
  let stop = false;
  let calls = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (!stop)
      await client.getUser({ userId: { opaqueId: EINSTEIN } }).then(
        () => calls++,
        (err) => failures.push(err),
      );
  };
  const workers = Array.from({ length: 64 }, worker);
  await waitFor(() => calls > 200, 10_000, 'calls before the restart');
  await slapd.stop();
  const before = slapd.connections();
  await slapd.start();
  const after = calls;
  await waitFor(() => calls > after + 200, 15_000, 'calls after the restart');
  stop = true;
  await Promise.all(workers);
  return { failures, connections: slapd.connections() - before };
}

describe.skipIf(!hasSlapd)('LDAP UserProvider driver (real slapd)', () => {
  it("passes UserProvider's conformance suite", async () => {
    const slapd = await startSlapd(fixtureLdif());
    const { client } = await ldapDriver(slapd);
    const results = await runSuite(userproviderSuite, client);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const { user } = await client.getUser({ userId: { opaqueId: EINSTEIN } });
    expect(user?.id).toEqual({ idp: 'http://localhost:9998', opaqueId: EINSTEIN, type: 1 });
  });

  it('a value with filter characters is one literal value: it never widens a search', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const { client } = await ldapDriver(slapd);
    const notFound = async (call: Promise<unknown>, what: string) => {
      const err = await expectRejection(call, RpcError);
      expect(err.statusName, what).toBe('NOT_FOUND');
    };
    for (const value of ['*', '*)(uid=*', 'einstein)(|(uid=*', '\\00', 'e*', '\\2a', '(uid=*)'])
      await notFound(client.getUserByClaim({ claim: 'username', value }), `username ${value}`);
    await notFound(
      client.getUserByClaim({ claim: 'mail', value: 'einstein@example.org)(|(mail=*' }),
      'mail',
    );
    for (const opaqueId of ['*', '*)(entryUUID=*'])
      await notFound(client.getUser({ userId: { opaqueId } }), `id ${opaqueId}`);
    // The literal text matches where it really is, and nowhere else.
    const star = await client.getUserByClaim({ claim: 'username', value: 'star*name' });
    expect(star.user?.username).toBe('star*name');
    expect((await client.findUsers({ query: '*' })).users.map((u) => u.username)).toEqual([
      'star*name',
    ]);
    expect((await client.findUsers({ query: '(paren)' })).users.map((u) => u.username)).toEqual([
      'star*name',
    ]);
    expect((await client.findUsers({ query: ')(uid=*' })).users).toEqual([]);
  });

  it('a value past 256 characters, or with a control character, is INVALID_ARGUMENT at once: a NUL never matches other text', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const { client } = await ldapDriver(slapd);
    const invalid = async (call: Promise<unknown>, what: string) => {
      const err = await expectRejection(call, RpcError);
      expect([what, err.statusName]).toEqual([what, 'INVALID_ARGUMENT']);
      return err;
    };
    // A search box's 4 MiB, three at once: ldapts' filter parser held the driver ~16 s with
    // one, and with three the host killed it. Another client's calls go on meanwhile.
    const started = Date.now();
    const slowest = { ms: 0 };
    let flooding = true;
    const other = (async () => {
      while (flooding) {
        const t = Date.now();
        await client.getUser({ userId: { opaqueId: EINSTEIN } });
        slowest.ms = Math.max(slowest.ms, Date.now() - t);
      }
    })();
    const longs = await Promise.all(
      [1, 2, 3].map(() => invalid(client.findUsers({ query: 'e'.repeat(4 << 20) }), '4 MiB query')),
    );
    flooding = false;
    await other;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(slowest.ms).toBeLessThan(1000);
    expect(longs[0].details).toMatch(/the query is 4194304 characters long; at most 256/);
    // OpenLDAP drops a NUL in some assertions: "\0" matched every user, a mail with
    // "\0junk" after it matched that mail's user.
    await invalid(client.findUsers({ query: '\0' }), 'a NUL query');
    await invalid(
      client.getUserByClaim({ claim: 'mail', value: 'einstein@example.org\0junk' }),
      'a mail with a NUL',
    );
    await invalid(client.getUser({ userId: { opaqueId: '\0' } }), 'an id with a NUL');
    await invalid(client.findUsers({ query: 'a\u001bb' }), 'an escape character');
    // The driver is none the worse for it.
    const { user } = await client.getUserByClaim({ claim: 'mail', value: 'einstein@example.org' });
    expect(user?.username).toBe('einstein');
  });

  it('the other keys: bind_password_env, user_filter, mail_verified, idp, pool_size, page_size', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const driver = useDriver({
      name: 'ldap',
      path: BIN.ldap,
      contract: userprovider,
      env: { LDAP_SECRET: ADMIN_PASSWORD },
    });
    await driver.ready;
    await driver.client.configure({
      config: {
        uri: slapd.url,
        bind_username: ADMIN_DN,
        bind_password_env: 'LDAP_SECRET',
        user_base_dn: `ou=users,${BASE_DN}`,
        group_base_dn: `ou=groups,${BASE_DN}`,
        // Only example.org's: the star user (example.com) is out of every search.
        user_filter: 'mail=*@example.org',
        mail_verified: false,
        idp: 'https://idp.example.org',
        pool_size: 1,
        page_size: 1,
      },
    });
    const { client } = driver;
    // Three pages of one.
    const all = await client.findUsers({ query: 'e', skipFetchingGroups: true });
    expect(all.users.map((u) => u.username).sort()).toEqual(['einstein', 'marie', 'richard']);
    expect(all.users[0].mailVerified).toBe(false);
    expect(all.users[0].id?.idp).toBe('https://idp.example.org');
    const err = await expectRejection(
      client.getUserByClaim({ claim: 'username', value: 'star*name' }),
      RpcError,
    );
    expect(err.statusName).toBe('NOT_FOUND');

    // Other attribute names (user_schema), and only some groups (group_filter).
    await driver.client.configure({
      config: {
        uri: slapd.url,
        bind_username: ADMIN_DN,
        bind_password_env: 'LDAP_SECRET',
        user_base_dn: `ou=users,${BASE_DN}`,
        group_base_dn: `ou=groups,${BASE_DN}`,
        user_objectclass: 'inetOrgPerson',
        user_schema: { displayName: 'sn', mail: 'cn' },
        group_filter: '(cn=*-lovers)',
      },
    });
    const { user } = await client.getUserByClaim({ claim: 'username', value: 'einstein' });
    expect(user).toMatchObject({ displayName: 'Einstein', mail: 'Albert Einstein' });
    expect([...user!.groups].sort()).toEqual(['physics-lovers', 'sailing-lovers']);
  });

  it('a binary id (id_is_octet_string, as objectGUID) is shown and found as a UUID', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const { client } = await ldapDriver(slapd, {
      user_schema: { id: 'testGUID', id_is_octet_string: true },
    });
    // The fixture's testGUID holds the 16 bytes of each user's id.
    const { user } = await client.getUserByClaim({ claim: 'username', value: 'einstein' });
    expect(user?.id?.opaqueId).toBe(EINSTEIN);
    const byId = await client.getUser({ userId: { opaqueId: EINSTEIN.toUpperCase() } });
    expect(byId.user?.username).toBe('einstein');
    // Not a UUID: no entry can have it, and nothing is searched for.
    const err = await expectRejection(client.getUser({ userId: { opaqueId: '*' } }), RpcError);
    expect(err.statusName).toBe('NOT_FOUND');
  });

  it('groupOfNames (member DNs) as well as posixGroup (memberUid)', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const { client } = await ldapDriver(slapd, { group_objectclass: 'groupOfNames' });
    expect((await client.getUserGroups({ userId: { opaqueId: EINSTEIN } })).groups).toEqual([
      'relativity-fans',
    ]);
  });

  it('ldaps and StartTLS with the CA file; an untrusted server only with insecure', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const name = async (extra: Record<string, unknown>) =>
      (await (await ldapDriver(slapd, extra)).client.getUser({ userId: { opaqueId: EINSTEIN } }))
        .user?.username;
    expect(await name({ uri: slapd.ldapsUrl, cacert: slapd.ca })).toBe('einstein');
    expect(await name({ starttls: true, cacert: slapd.ca })).toBe('einstein');
    expect(await name({ uri: slapd.ldapsUrl, insecure: true })).toBe('einstein');
    const untrusted = await ldapDriver(slapd, { uri: slapd.ldapsUrl, timeout_ms: 500 });
    const err = await expectRejection(
      untrusted.client.getUser({ userId: { opaqueId: EINSTEIN } }),
      RpcError,
    );
    expect(err.statusName).toBe('UNAVAILABLE');
    expect(err.details).toMatch(/certificate/i);
  });

  it('a bad config is INVALID_ARGUMENT naming the key; a password is never shown', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const driver = useDriver({ name: 'ldap', path: BIN.ldap, contract: userprovider });
    await driver.ready;
    const refused = async (config: Record<string, unknown>, message: RegExp) => {
      const err = await expectRejection(driver.client.configure({ config }), RpcError);
      expect(err.statusName).toBe('INVALID_ARGUMENT');
      expect(err.details).toMatch(message);
      expect(err.details).not.toContain('hunter2');
    };
    const base = { uri: slapd.url, user_base_dn: BASE_DN, group_base_dn: BASE_DN };
    await refused({ ...base, user_fliter: '(x=1)' }, /user_fliter: expected one of uri, /);
    await refused({ ...base, uri: 'http://x' }, /uri: expected ldap:\/\/HOST/);
    await refused({ ...base, user_filter: '(a=1))(b=2' }, /user_filter: expected one LDAP filter/);
    await refused(
      { ...base, bind_password: 'hunter2', bind_password_file: '/nope' },
      /only one of bind_password, bind_password_file/,
    );
    await refused(
      { ...base, user_schema: { mail: 'm)ail' } },
      /user_schema\.mail: expected an attribute name/,
    );
    // The service account's password in plaintext over the network (the AuthProvider
    // already refused users'); allow_plaintext_bind says it is meant.
    const remote = { ...base, uri: 'ldap://192.0.2.1:389', bind_username: ADMIN_DN };
    await refused(
      { ...remote, bind_password: 'hunter2' },
      /uri: expected ldaps:\/\/, or starttls = true: the service account's password would cross the network in plaintext/,
    );
    await driver.client.configure({
      config: { ...remote, bind_password: 'hunter2', allow_plaintext_bind: true, timeout_ms: 200 },
    });
  });

  it('FindUsers searches the id too, whole, as the proto says', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const { client } = await ldapDriver(slapd);
    const { users } = await client.findUsers({ query: EINSTEIN });
    expect(users.map((u) => u.username)).toEqual(['einstein']);
  });

  it('FindUsers pages through a 10,000-user subtree, up to find_limit', async () => {
    const slapd = await startSlapd(bulkLdif(10_000));
    const base = { user_base_dn: `ou=bulk,${BASE_DN}`, group_base_dn: `ou=bulk,${BASE_DN}` };
    const limited = await ldapDriver(slapd, { ...base, find_limit: 50 });
    const some = await limited.client.findUsers({ query: 'bulk', skipFetchingGroups: true });
    expect(some.users).toHaveLength(50);
    const all = await ldapDriver(slapd, {
      ...base,
      find_limit: 20_000,
      page_size: 1000,
      timeout_ms: 20_000,
    });
    const found = await all.client.findUsers({ query: 'bulk.example', skipFetchingGroups: true });
    expect(found.users).toHaveLength(10_000);
    expect(new Set(found.users.map((u) => u.username)).size).toBe(10_000);
  }, 120_000);

  it('FindUsers with groups over 10,000 users: a group search per user, 32 at a time, none refused', async () => {
    const slapd = await startSlapd(fixtureLdif() + bulkLdif(10_000));
    const logger = captureLogger();
    const { client } = await ldapDriver(
      slapd,
      {
        user_base_dn: `ou=bulk,${BASE_DN}`,
        find_limit: 20_000,
        page_size: 1000,
        timeout_ms: 60_000,
      },
      logger,
    );
    const before = slapd.searches();
    // slapd closes a connection with more than 1,000 operations queued: sent all at once,
    // the 10,000 group searches failed every call (UNAVAILABLE: Connection closed).
    const found = await client.findUsers({ query: 'bulk.example' });
    expect(found.users).toHaveLength(10_000);
    expect(found.users.every((u) => Array.isArray(u.groups))).toBe(true);
    expect(slapd.searches() - before).toBeGreaterThanOrEqual(10_000);
    // 32 searches at once listen on one call's signal: no "possible memory leak" warning.
    expect(logger.entries.map((e) => e.message).join('\n')).not.toMatch(/MaxListeners/);
  }, 120_000);

  it('a FindUsers its caller cancels stops its LDAP work: no group search is started after', async () => {
    const slapd = await startSlapd(fixtureLdif() + bulkLdif(10_000));
    const { client } = await ldapDriver(slapd, {
      user_base_dn: `ou=bulk,${BASE_DN}`,
      find_limit: 20_000,
      page_size: 1000,
      timeout_ms: 60_000,
    });
    const before = slapd.searches();
    const abort = new AbortController();
    const call = client.findUsers({ query: 'bulk.example' }, { signal: abort.signal });
    call.catch(() => {});
    // Group searches are under way (past the 10 pages of users).
    await waitFor(() => slapd.searches() - before > 200, 30_000, 'group searches started');
    abort.abort();
    const err = await expectRejection(call, RpcError);
    expect(err.statusName).toBe('CANCELLED');
    const atCancel = slapd.searches();
    // The server goes quiet: the searches in flight (32) finish, and those started before
    // the cancel reached the driver (thousands a second here). Before, the driver went on
    // through all 10,000 for a caller long gone.
    let last = -1;
    await waitFor(
      () => {
        const now = slapd.searches();
        const quiet = now === last;
        last = now;
        return quiet;
      },
      20_000,
      () => `the searches to stop (${slapd.searches() - atCancel} since the cancel)`,
      300,
    );
    expect(slapd.searches() - atCancel).toBeLessThan(2_000);
    expect(slapd.searches() - before).toBeLessThan(8_000);
  }, 120_000);

  it('a slapd restart under 64 concurrent calls fails none; stopped, calls are UNAVAILABLE in time and health NOT_SERVING until it is back', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const driver = await ldapDriver(slapd, { timeout_ms: 5000 });
    const { client } = driver;
    const { failures } = await restartUnderLoad(slapd, client);
    expect(failures).toEqual([]);

    // Stopped: UNAVAILABLE within the driver's timeout (here 1.5 s), and health says so.
    await slapd.stop();
    const down = await ldapDriver(slapd);
    const started = Date.now();
    const err = await expectRejection(
      down.client.getUser({ userId: { opaqueId: EINSTEIN } }),
      RpcError,
    );
    expect(err.statusName).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(3_000);
    const status = async (d: typeof driver) =>
      (await createClient(internalServices.health, (call) => d.invoke(call)).check({ service: '' }))
        .status;
    await waitFor(async () => (await status(driver)) === 2, 10_000, 'health NOT_SERVING');
    await slapd.start();
    await waitFor(async () => (await status(driver)) === 1, 10_000, 'health SERVING again');
    expect((await client.getUser({ userId: { opaqueId: EINSTEIN } })).user?.username).toBe(
      'einstein',
    );
  }, 60_000);
  it.each([
    ['ldap:// with StartTLS', (s: Slapd) => ({ starttls: true, cacert: s.ca })],
    ['ldaps://', (s: Slapd) => ({ uri: s.ldapsUrl, cacert: s.ca })],
  ])(
    'a slapd restart while idle, over %s: the next calls all succeed, on new connections',
    async (_name, tls) => {
      const slapd = await startSlapd(fixtureLdif());
      const { client } = await ldapDriver(slapd, { ...tls(slapd), timeout_ms: 5000 });
      const round = () =>
        Promise.allSettled(
          Array.from({ length: 32 }, () => client.getUser({ userId: { opaqueId: EINSTEIN } })),
        );
      expect((await round()).filter((r) => r.status === 'rejected')).toEqual([]);
      await slapd.stop();
      await slapd.start();
      // After StartTLS ldapts never saw the server close its connections: 32 of 32 timed
      // out (INTERNAL, ~5.3 s) before any new one was made.
      const started = Date.now();
      expect((await round()).filter((r) => r.status === 'rejected')).toEqual([]);
      expect(Date.now() - started).toBeLessThan(3000);
    },
    60_000,
  );

  it.each([
    ['ldap:// with StartTLS', (s: Slapd) => ({ starttls: true, cacert: s.ca })],
    ['ldaps://', (s: Slapd) => ({ uri: s.ldapsUrl, cacert: s.ca })],
  ])(
    'a slapd restart under 64 concurrent calls over %s fails none, with one new connection per pool slot',
    async (_name, tls) => {
      const slapd = await startSlapd(fixtureLdif());
      const { client } = await ldapDriver(slapd, { ...tls(slapd), timeout_ms: 5000 });
      const { failures, connections } = await restartUnderLoad(slapd, client);
      expect(failures).toEqual([]);
      // pool_size is 4: each slot connects once, not once per call that found it dead.
      expect(connections).toBeGreaterThan(0);
      expect(connections).toBeLessThanOrEqual(4);
    },
    60_000,
  );

  it('a hung server (SIGSTOP) is UNAVAILABLE within the call’s time, not INTERNAL; SIGCONT and it serves again', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const { client } = await ldapDriver(slapd, { timeout_ms: 1500 });
    expect((await client.getUser({ userId: { opaqueId: EINSTEIN } })).user?.username).toBe(
      'einstein',
    );
    slapd.signal('SIGSTOP');
    const started = Date.now();
    const err = await expectRejection(client.getUser({ userId: { opaqueId: EINSTEIN } }), RpcError);
    expect(err.statusName).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(3000);
    slapd.signal('SIGCONT');
    await waitFor(
      async () =>
        (await client.getUser({ userId: { opaqueId: EINSTEIN } }).catch(() => undefined))?.user
          ?.username === 'einstein',
      10_000,
      'calls answered again',
    );
  }, 60_000);

  it('runs from driverkit serve with the documented config, built from its source folder', async () => {
    const slapd = await startSlapd(fixtureLdif());
    const dir = mkdtempSync(join(ROOT, '.cache', 'ldap-serve-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(join(ROOT, 'drivers'), join(dir, 'drivers'), { recursive: true });
    writeFileSync(join(dir, 'ldap-password'), `${ADMIN_PASSWORD}\n`);
    writeFileSync(
      join(dir, 'driverkit.toml'),
      [
        '[drivers.ldap]',
        'type = "userprovider"',
        'driver = "./drivers/userprovider/ldap"',
        '',
        '[drivers.ldap.config]',
        `uri = "${slapd.url}"`,
        `bind_username = "${ADMIN_DN}"`,
        'bind_password_file = "./ldap-password"',
        `user_base_dn = "ou=users,${BASE_DN}"`,
        `group_base_dn = "ou=groups,${BASE_DN}"`,
        '',
      ].join('\n'),
    );
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /driverkit: serving .* on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    const channel = new Client(serve.match[1], credentials.createInsecure());
    onTestFinished(() => channel.close());
    const users = createClient(userprovider.versions[1], grpcInvoke(channel));
    const { user } = await users.getUserByClaim({ claim: 'mail', value: 'marie@example.org' });
    expect(user?.username).toBe('marie');
    expect(user?.groups).toContain('radium-lovers');
  }, 120_000);
});
