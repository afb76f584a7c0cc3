// The AuthProvider type: its conformance suite over the JSON driver (scrypt hashes) and the
// LDAP driver (a bind as the user, against a real slapd), and what each refuses.
import { execFileSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { authprovider } from '../src/contracts/authprovider.js';
import { internalServices } from '../src/contracts/internal.js';
import { RpcError } from '../src/errors.js';
import { createClient } from '../src/rpc/client.js';
import { authproviderSuite } from '../src/testing/authprovider.js';
import { runSuite } from '../src/testing/suite.js';
import { expectRejection, useDriver } from './helpers.js';
import { BIN, ROOT } from './paths.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, fixtureLdif, hasSlapd, startSlapd } from './slapd.js';

describe('AuthProvider: JSON driver', () => {
  it("passes the type's conformance suite with examples/auth-users.json", async () => {
    const driver = useDriver({ name: 'auth', path: BIN.authJson, contract: authprovider });
    await driver.ready;
    await driver.client.configure({ config: { users: join(ROOT, 'examples/auth-users.json') } });
    expect((await runSuite(authproviderSuite, driver.client)).filter((r) => !r.ok)).toEqual([]);
  });

  it('refuses a plain password in its file, and makes hashes from stdin', async () => {
    const dir = mkdtempSync(join(ROOT, '.cache', 'auth-json-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const driver = useDriver({ name: 'auth', path: BIN.authJson, contract: authprovider });
    await driver.ready;
    const file = join(dir, 'accounts.json');
    writeFileSync(file, JSON.stringify([{ username: 'ada', password: 'lovelace' }]));
    const err = await expectRejection(
      driver.client.configure({ config: { users: file } }),
      RpcError,
    );
    expect(err.statusName).toBe('FAILED_PRECONDITION');
    expect(err.details).toMatch(/entry 0: expected password_hash .*plain passwords are refused/);
    expect(err.details).not.toContain('lovelace');

    // `main.js hash` turns a password on stdin into what the file holds; it then signs in.
    const hash = execFileSync(process.execPath, [BIN.authJson, 'hash'], {
      input: 'lovelace\n',
      encoding: 'utf8',
    }).trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    writeFileSync(
      file,
      JSON.stringify([
        { username: 'ada', password_hash: hash },
        { username: 'ada', password_hash: hash },
      ]),
    );
    const twice = await expectRejection(
      driver.client.configure({ config: { users: file } }),
      RpcError,
    );
    expect(twice.details).toMatch(/entry 1: username "ada" is there twice/);
    writeFileSync(file, JSON.stringify([{ username: 'ada', password_hash: hash }]));
    await driver.client.configure({ config: { users: file } });
    const { user } = await driver.client.authenticate({
      clientId: 'ada',
      clientSecret: 'lovelace',
    });
    expect(user?.username).toBe('ada');
  });

  it('takes as long for an unknown id as for an account hashed with other parameters; refuses a cost it could not run', async () => {
    const dir = mkdtempSync(join(ROOT, '.cache', 'auth-json-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const scryptHash = (password: string, n: number, r: number) => {
      const salt = randomBytes(16);
      const hash = scryptSync(password, salt, 32, { N: n, r, p: 1, maxmem: 256 << 20 });
      return `scrypt$${n}$${r}$1$${salt.toString('base64')}$${hash.toString('base64')}`;
    };
    const driver = useDriver({ name: 'auth', path: BIN.authJson, contract: authprovider });
    await driver.ready;
    const file = join(dir, 'accounts.json');
    // 64 MiB of scrypt memory: node's own limit; every Authenticate for it would fail.
    writeFileSync(
      file,
      JSON.stringify([{ username: 'big', password_hash: scryptHash('x', 65536, 8) }]),
    );
    const costly = await expectRejection(
      driver.client.configure({ config: { users: file } }),
      RpcError,
    );
    expect(costly.details).toMatch(/entry 0: expected password_hash .*128·N·r at most 33554432/);
    // Two accounts hashed with other parameters (a migration under way): the first account's
    // are the default's, the second's four times cheaper.
    writeFileSync(
      file,
      JSON.stringify([
        { username: 'ada', password_hash: scryptHash('lovelace', 16384, 8) },
        { username: 'bob', password_hash: scryptHash('builder', 4096, 8) },
      ]),
    );
    await driver.client.configure({ config: { users: file } });
    const timed = async (clientId: string) => {
      const t0 = performance.now();
      await expectRejection(driver.client.authenticate({ clientId, clientSecret: 'wrong' }));
      return performance.now() - t0;
    };
    const times: Record<string, number[]> = { ada: [], bob: [], nobody: [] };
    // Interleaved, so that the machine's noise falls on all three alike, after a round that
    // warms up; compared by their fastest run, the cost itself without what noise adds.
    for (const id of Object.keys(times)) await timed(id);
    for (let i = 0; i < 9; i++)
      for (const id of Object.keys(times)) times[id].push(await timed(id));
    const unknown = Math.min(...times.nobody);
    for (const id of ['ada', 'bob'])
      expect(
        Math.abs(Math.min(...times[id]) - unknown) / unknown,
        `${id}: ${times[id]} vs ${times.nobody}`,
      ).toBeLessThan(0.2);
  });
});

describe.skipIf(!hasSlapd)('AuthProvider: LDAP driver (real slapd)', () => {
  it("passes the type's conformance suite: a bind as the user, locked by locked_filter", async () => {
    const slapd = await startSlapd(fixtureLdif());
    const driver = useDriver({ name: 'auth-ldap', path: BIN.authLdap, contract: authprovider });
    await driver.ready;
    await driver.client.configure({
      config: {
        uri: slapd.url,
        bind_username: ADMIN_DN,
        bind_password: ADMIN_PASSWORD,
        user_base_dn: `ou=users,${BASE_DN}`,
        group_base_dn: `ou=groups,${BASE_DN}`,
        login_attributes: ['uid', 'mail'],
        locked_filter: '(employeeType=locked)',
      },
    });
    expect((await runSuite(authproviderSuite, driver.client)).filter((r) => !r.ok)).toEqual([]);
    // A login attribute's value with filter characters finds nobody, rather than anybody.
    const err = await expectRejection(
      driver.client.authenticate({ clientId: '*', clientSecret: 'relativity' }),
      RpcError,
    );
    expect(err.statusName).toBe('UNAUTHENTICATED');
    // A huge secret is a refusal like any other, not an outage: health stays SERVING.
    const huge = await expectRejection(
      driver.client.authenticate({ clientId: 'einstein', clientSecret: 'x'.repeat(300_000) }),
      RpcError,
    );
    expect(huge.statusName).toBe('UNAUTHENTICATED');
    const health = createClient(internalServices.health, (call) => driver.invoke(call));
    expect((await health.check({ service: '' })).status).toBe(1);
    // Users' passwords never cross a network in plaintext unless the operator says so.
    const plain = await expectRejection(
      driver.client.configure({
        config: { uri: 'ldap://ldap.example.org', user_base_dn: BASE_DN, group_base_dn: BASE_DN },
      }),
      RpcError,
    );
    expect(plain.details).toMatch(/uri: expected ldaps:\/\/, or starttls = true/);
    // mail is a login attribute too.
    const byMail = await driver.client.authenticate({
      clientId: 'marie@example.org',
      clientSecret: 'radioactivity',
    });
    expect(byMail.user?.username).toBe('marie');
    expect(byMail.user?.groups).toContain('physics-lovers');
  });
});
