// The AuthProvider type: its conformance suite over the JSON driver (scrypt hashes) and the
// LDAP driver (a bind as the user, against a real slapd), and what each refuses.
import { execFileSync } from 'node:child_process';
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
