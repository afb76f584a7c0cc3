// A driver's environment is explicit: the host's secrets (and a gateway's tokens) stay with
// the host. Each "driver" here is a script that writes its environment and exits before any
// handshake, so the start fails and the file says what the driver was given.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { openHost } from '../src/host/host.js';
import { captureLogger, expectRejection, useDriver } from './helpers.js';

const SECRETS = { DB_PASSWORD: 's3cret', DK_TOKENS: 'gateway-token', APP_REGION: 'eu' };

function envDumper(): { dir: string; script: string; seen: () => Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'dk-env-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'driver.sh');
  writeFileSync(script, `#!/bin/sh\nenv -0 > "${dir}/env"\nexit 3\n`);
  chmodSync(script, 0o755);
  const seen = () =>
    Object.fromEntries(
      readFileSync(join(dir, 'env'), 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  return { dir, script, seen };
}

describe("a driver's environment", () => {
  beforeEach(() => Object.assign(process.env, SECRETS));
  afterEach(() => {
    for (const k of Object.keys(SECRETS)) delete process.env[k];
  });

  it('holds the allow-list, its `env` and go-plugin variables, none of the host’s secrets', async () => {
    const { script, seen } = envDumper();
    const driver = useDriver({
      name: 'env',
      path: script,
      contract: userprovider,
      env: { GIVEN: 'yes' },
    });
    await expectRejection(driver.ready);
    const env = seen();
    expect(env).toMatchObject({ PATH: process.env.PATH, GIVEN: 'yes' });
    expect(env[userprovider.cookieKey]).toBe(userprovider.cookieValue);
    expect(env.PLUGIN_PROTOCOL_VERSIONS).toBeDefined();
    for (const k of Object.keys(SECRETS)) expect(env).not.toHaveProperty(k);
  });

  it('inheritEnv adds names and prefixes; "*" passes all; "!" withholds, whatever else names it', async () => {
    const first = envDumper();
    const named = useDriver({
      name: 'env',
      path: first.script,
      contract: userprovider,
      inheritEnv: ['APP_*'],
    });
    await expectRejection(named.ready);
    expect(first.seen()).toMatchObject({ APP_REGION: 'eu' });
    expect(first.seen()).not.toHaveProperty('DB_PASSWORD');

    const second = envDumper();
    const all = useDriver({
      name: 'env',
      path: second.script,
      contract: userprovider,
      inheritEnv: ['*', '!DB_*'],
    });
    await expectRejection(all.ready);
    expect(second.seen()).toMatchObject({ APP_REGION: 'eu', DK_TOKENS: 'gateway-token' });
    expect(second.seen()).not.toHaveProperty('DB_PASSWORD');
  });

  it('a config\'s inherit_env = ["*"] still never passes the gateway\'s tokens_env', async () => {
    const { dir, script, seen } = envDumper();
    const config = join(dir, 'driverkit.toml');
    writeFileSync(
      config,
      `[gateway]\ntokens_env = "DK_TOKENS"\n\n[drivers.users]\ntype = "userprovider"\ndriver = "${script}"\ninherit_env = ["*"]\n`,
    );
    const host = await openHost({ config, logger: captureLogger() });
    onTestFinished(() => host.close());
    await expectRejection(host.driver('users'));
    expect(seen()).toMatchObject({ DB_PASSWORD: 's3cret', APP_REGION: 'eu' });
    expect(seen()).not.toHaveProperty('DK_TOKENS');
  });
});
