// Call metrics as a library step (driverkit/metrics) over a real driver, under concurrent
// calls, large messages and streams; and serve's admin endpoint with `driverkit status`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HostMetrics } from '../src/metrics/host-metrics.js';
import { CallMetrics } from '../src/metrics/metrics.js';
import { quantile } from '../src/metrics/live.js';
import type { RpcError } from '../src/errors.js';
import { collect, spawnCollect, spawnUntil, useDriver } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import { codec, methodPath } from '../src/contracts/contract.js';

/** The value of one sample of a metric, by its labels (0 when there is none). */
async function value(m: CallMetrics, name: string, labels: Record<string, string>) {
  const metric = m.registry.getSingleMetric(name)!;
  const { values } = await metric.get();
  const hit = values.find((v) =>
    Object.entries(labels).every(([k, want]) => String((v.labels as any)[k]) === want),
  );
  return hit?.value ?? 0;
}

describe('metrics step (driverkit/metrics)', () => {
  it('counts every call by code, its bytes and its streams, under 64 concurrent calls with 256 KiB messages', async () => {
    const metrics = new CallMetrics();
    const driver = useDriver({
      name: 'counted',
      path: BIN.counter,
      contract: counter,
      steps: [metrics.step('counted')],
    });
    await driver.ready;
    const { client } = driver;
    const one = { driver: 'counted', service: 'counter.v1.Counter' };
    // An open stream shows as one, and as a call in flight.
    const open = client.count({ n: 0, size: 10 })[Symbol.asyncIterator]();
    await open.next();
    expect(await value(metrics, 'driverkit_streams_open', { ...one, method: 'Count' })).toBe(1);
    // 64 unary calls and 8 streams of 4 × 256 KiB at once, 5 of the streams failing NOT_FOUND.
    const SIZE = 256 * 1024;
    const streams = Array.from({ length: 8 }, (_, i) =>
      collect(
        client.count({ n: 4, size: SIZE, ...(i < 5 ? { failCode: 5, failMessage: 'gone' } : {}) }),
      ).then(
        () => 'OK',
        (err: RpcError) => err.statusName,
      ),
    );
    await Promise.all(Array.from({ length: 64 }, (_, i) => client.add({ value: String(i) })));
    expect((await Promise.all(streams)).sort()).toEqual([
      ...Array(5).fill('NOT_FOUND'),
      'OK',
      'OK',
      'OK',
    ]);
    await open.return!();
    // A stream dropped before its first read (through invoke, which starts it at once) ends too.
    const count = counter.versions[1].methods.count;
    const dropped = (await driver.invoke({
      path: methodPath(counter.versions[1], count),
      request: { n: 0, size: 1 },
      serialize: codec(count.requestType).serialize,
      deserialize: codec(count.responseType).deserialize,
      options: {},
      requestStream: false,
      responseStream: true,
    })) as AsyncIterable<unknown>;
    await dropped[Symbol.asyncIterator]().return!();

    const calls = (method: string, code: string) =>
      value(metrics, 'driverkit_calls_total', { ...one, method, code });
    expect(await calls('Add', 'OK')).toBe(64);
    expect(await calls('Count', 'OK')).toBe(3);
    expect(await calls('Count', 'NOT_FOUND')).toBe(5);
    // The streams left early were cancelled by their caller.
    expect(await calls('Count', 'CANCELLED')).toBe(2);
    const durations = (await metrics.duration.get()).values.filter(
      (v) => v.metricName === 'driverkit_call_duration_seconds_count',
    );
    expect(Object.fromEntries(durations.map((v) => [v.labels.method, v.value]))).toEqual({
      Add: 64,
      Count: 10,
    });
    // Every stream and call has ended.
    expect(await value(metrics, 'driverkit_streams_open', { ...one, method: 'Count' })).toBe(0);
    expect(await value(metrics, 'driverkit_calls_in_flight', { ...one, method: 'Add' })).toBe(0);
    expect(await value(metrics, 'driverkit_calls_in_flight', { ...one, method: 'Count' })).toBe(0);
    // 32 messages of 256 KiB (and change) came back; every request went out.
    const received = await value(metrics, 'driverkit_received_message_bytes_total', {
      ...one,
      method: 'Count',
    });
    expect(received).toBeGreaterThan(32 * SIZE);
    expect(received).toBeLessThan(33 * SIZE);
    expect(
      await value(metrics, 'driverkit_sent_message_bytes_total', { ...one, method: 'Add' }),
    ).toBeGreaterThan(64);
  });

  it('a host merges them into its own registry: the names are there to scrape', async () => {
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    const metrics = new HostMetrics({ registry });
    expect(metrics.registry).toBe(registry);
    const text = await registry.metrics();
    for (const name of [
      'driverkit_calls_total',
      'driverkit_call_duration_seconds',
      'driverkit_driver_up',
      'driverkit_driver_restarts_total',
      'driverkit_gateway_rejections_total',
      'driverkit_prepare_duration_seconds',
    ])
      expect(text).toContain(`# TYPE ${name} `);
  });

  it("quantiles from bucket counts interpolate as Prometheus' histogram_quantile does", () => {
    const rows = [
      {
        q: 0.5,
        buckets: [
          [0.1, 50],
          [0.2, 100],
          [Infinity, 100],
        ],
        want: 0.1,
      },
      {
        q: 0.75,
        buckets: [
          [0.1, 50],
          [0.2, 100],
          [Infinity, 100],
        ],
        want: 0.15,
      },
      {
        q: 0.99,
        buckets: [
          [0.1, 0],
          [0.2, 0],
          [Infinity, 10],
        ],
        want: 0.2,
      },
      {
        q: 0.5,
        buckets: [
          [0.1, 0],
          [Infinity, 0],
        ],
        want: undefined,
      },
    ];
    for (const { q, buckets, want } of rows) {
      const got = quantile(q, new Map(buckets as [number, number][]));
      if (want === undefined) expect(got).toBeUndefined();
      else expect(got).toBeCloseTo(want, 9);
    }
  });
});

describe('serve admin endpoint and driverkit status', () => {
  it('requires its token, serves /status to `driverkit status`, and refuses off loopback without one', async () => {
    const dir = mkdtempSync(join(ROOT, '.cache', 'admin-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'admin-token'), 's3cret\n');
    const config = (admin: string) =>
      `[gateway]\nadmin_listen = "${admin}"\nadmin_token_file = "admin-token"\n\n[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`;
    writeFileSync(join(dir, 'driverkit.toml'), config('127.0.0.1:0'));
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /admin endpoint: \/metrics and \/status address=(\S+)/,
      { cwd: dir, on: 'stderr', endSignal: 'SIGTERM' },
    );
    const admin = serve.match[1];
    expect((await fetch(`http://${admin}/metrics`)).status).toBe(401);
    const wrong = await fetch(`http://${admin}/status`, {
      headers: { authorization: 'Bearer s3creT' },
    });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`http://${admin}/metrics`, {
      headers: { authorization: 'Bearer s3cret' },
    });
    expect(await ok.text()).toMatch(
      /^driverkit_driver_up\{driver="demo",type="userprovider"\} [01]$/m,
    );

    const json = await spawnCollect(process.execPath, [CLI, 'status', '--json', '--admin', admin], {
      cwd: dir,
    });
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status.drivers).toEqual([
      expect.objectContaining({ name: 'demo', type: 'userprovider', restarts: 0 }),
    ]);
    const table = await spawnCollect(process.execPath, [CLI, 'status', '--admin', admin], {
      cwd: dir,
    });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      /^DRIVER +TYPE +STATE +PID +UPTIME +RESTARTS +CALLS\/S +ERRORS +P50 +P99 +RSS$/m,
    );
    expect(table.stdout).toMatch(/^demo +userprovider +(ready|starting) /m);

    // Off loopback, the endpoint shows every driver: a token is required.
    writeFileSync(
      join(dir, 'open.toml'),
      `[gateway]\nadmin_listen = "0.0.0.0:0"\n\n[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`,
    );
    const refused = await spawnCollect(process.execPath, [CLI, 'serve', '-c', 'open.toml'], {
      cwd: dir,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /gateway\.admin_listen: expected a loopback address \(127\.0\.0\.1:PORT\), or admin_token_file set: the admin endpoint shows every driver, got string "0\.0\.0\.0:0"/,
    );
    // No serve to ask: status says where it looked.
    const none = await spawnCollect(process.execPath, [CLI, 'status', '--admin', '127.0.0.1:9'], {
      cwd: dir,
    });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(
      /cannot reach the admin endpoint at http:\/\/127\.0\.0\.1:9\/status/,
    );
  });
});
