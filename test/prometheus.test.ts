// driverkit serve's /metrics scraped by a real Prometheus: known traffic gives exact counts
// through PromQL, a killed driver shows as a restart, and the shipped alert rules and
// dashboard queries load and run in it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { createClient, errorStep } from '../src/rpc/client.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { expectRejection, spawnUntil, waitFor } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';
import { hasPrometheus, PROMTOOL, startPrometheus } from './prometheus.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';
const DEPLOY = join(ROOT, 'deploy');

/** driverkit serve of the demo driver with its admin endpoint on a free port. */
async function serveWithAdmin() {
  const dir = mkdtempSync(join(ROOT, '.cache', 'prometheus-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'driverkit.toml'),
    `[gateway]\nadmin_listen = "127.0.0.1:0"\n\n[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\nrestart = "on-failure"\nrestart_delay = "50ms"\n`,
  );
  const serve = await spawnUntil(
    process.execPath,
    [CLI, 'serve', '--listen', '127.0.0.1:0'],
    /driverkit: serving .* on (\S+)\n/,
    { cwd: dir, endSignal: 'SIGTERM' },
  );
  const status = JSON.parse(readFileSync(join(dir, 'bin', '.serve-status.json'), 'utf8'));
  const channel = new Client(serve.match[1], credentials.createInsecure());
  onTestFinished(() => channel.close());
  const users = createClient(
    userprovider.versions[1],
    grpcInvoke(channel),
    errorStep((err, method) => new RpcError(err.code as never, err.details, { method })),
  );
  return { dir, admin: status.admin as string, users };
}

/** The HTTP status of /status asked with this Host header (fetch may not set one). */
function statusWithHost(admin: string, host: string): Promise<number | undefined> {
  const at = admin.lastIndexOf(':');
  return new Promise((resolve, reject) =>
    get(
      {
        host: admin.slice(0, at),
        port: Number(admin.slice(at + 1)),
        path: '/status',
        headers: { host },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    ).once('error', reject),
  );
}

describe.skipIf(!hasPrometheus)('metrics in a real Prometheus', () => {
  it('100 OK and 7 NOT_FOUND calls read back exactly through PromQL; a killed driver is a restart', async () => {
    const { admin, users } = await serveWithAdmin();
    const prometheus = await startPrometheus([admin], [join(DEPLOY, 'prometheus', 'alerts.yml')]);
    // Without a token, only loopback names are answered: a rebound name in a browser is not.
    expect(await statusWithHost(admin, 'evil.example')).toBe(403);
    expect(await statusWithHost(admin, admin)).toBe(200);

    await Promise.all(
      Array.from({ length: 100 }, () => users.getUser({ userId: { opaqueId: EINSTEIN } })),
    );
    for (let i = 0; i < 7; i++) {
      const err = await expectRejection(
        users.getUser({ userId: { opaqueId: `nobody-${i}` } }),
        RpcError,
      );
      expect(err.statusName).toBe('NOT_FOUND');
    }
    await prometheus.scrapedAfter(Date.now());
    const byCode = await prometheus.query(
      'sum by (code) (driverkit_calls_total{job="driverkit", driver="demo", method="GetUser"})',
    );
    expect(Object.fromEntries(byCode.map((s) => [s.metric.code, s.value]))).toEqual({
      OK: 100,
      NOT_FOUND: 7,
    });
    const [latency] = await prometheus.query(
      'sum(driverkit_call_duration_seconds_count{driver="demo", method="GetUser"})',
    );
    expect(latency.value).toBe(107);
    const [up] = await prometheus.query('driverkit_driver_up{driver="demo"}');
    expect(up.value).toBe(1);
    const [rss] = await prometheus.query('driverkit_driver_resident_memory_bytes{driver="demo"}');
    expect(rss.value).toBeGreaterThan(1 << 20);

    // Kill the driver: serve restarts it, and Prometheus sees one restart and how it died.
    const before = await (await fetch(`http://${admin}/status`)).json();
    const pid = before.drivers[0].pid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => {
        const s = await (await fetch(`http://${admin}/status`)).json();
        return s.drivers[0].state === 'ready' && s.drivers[0].pid !== pid;
      },
      15_000,
      'the demo driver restarted',
    );
    await prometheus.scrapedAfter(Date.now());
    const [restarts] = await prometheus.query('driverkit_driver_restarts_total{driver="demo"}');
    expect(restarts.value).toBe(1);
    const [exit] = await prometheus.query('driverkit_driver_last_exit{driver="demo"}');
    expect(exit.metric.signal).toBe('SIGKILL');

    // The shipped alert rules loaded and evaluate without errors.
    await waitFor(
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/rules`);
        const { data } = (await res.json()) as any;
        const rules = data.groups.flatMap((g: any) => g.rules);
        return rules.length === 7 && rules.every((r: any) => r.health === 'ok');
      },
      15_000,
      'every alert rule evaluated with health "ok"',
      100,
    );
    // Every query of the dashboard runs (Grafana's variables given values).
    const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'driverkit.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: any) =>
      (p.targets ?? []).map((t: any) => t.expr),
    );
    expect(exprs.length).toBeGreaterThan(15);
    for (const expr of exprs) {
      const q = expr.replaceAll('$__rate_interval', '1m').replaceAll(/\$(instance|driver)/g, '.*');
      await prometheus.query(q); // throws on a query Prometheus cannot parse
    }
    // …and selects what it should (a rate needs two scrapes of a change: the 'Up' stat does not).
    const upPanel = dashboard.panels.find((p: any) => p.title === 'Up');
    const [shown] = await prometheus.query(
      upPanel.targets[0].expr.replaceAll(/\$(instance|driver)/g, '.*'),
    );
    expect(shown).toMatchObject({ metric: { driver: 'demo' }, value: 1 });
  }, 60_000);

  it('the alert rules pass promtool check rules and their unit tests', () => {
    const rules = join(DEPLOY, 'prometheus');
    const check = execFileSync(PROMTOOL, ['check', 'rules', join(rules, 'alerts.yml')], {
      encoding: 'utf8',
    });
    expect(check).toMatch(/SUCCESS: 7 rules found/);
    const tested = execFileSync(PROMTOOL, ['test', 'rules', 'alerts.test.yml'], {
      cwd: rules,
      encoding: 'utf8',
    });
    expect(tested).toMatch(/SUCCESS/);
  });
});
