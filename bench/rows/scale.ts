import { join } from 'node:path';
import { userprovider } from '../../src/contracts/userprovider.js';
import { launchDriver } from '../../src/launch/driver.js';
import { configFromObject } from '../../src/config/load.js';
import { createClient } from '../../src/rpc/client.js';
import { dial } from '../../src/transport/client.js';
import { startGateway } from '../../src/gateway/gateway.js';
import { DriverHost } from '../../src/host/host.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { percentile, rssMb, timeConcurrent, timeEach } from '../stats.js';

const DRIVERS = 50;
const CALLS = 10_000;
const quiet = { log: () => {} };

/** 50 drivers at once, 10,000 concurrent calls over them, close; host RSS with all 50. */
export async function scale(): Promise<Result[]> {
  global.gc?.();
  const rssBefore = rssMb(process.pid);
  const t0 = performance.now();
  const drivers = Array.from({ length: DRIVERS }, (_, i) =>
    launchDriver({
      name: `d${i}`,
      path: join(BENCH_BIN, 'echo-driver'),
      contract: userprovider,
      logger: quiet,
    }),
  );
  await Promise.all(drivers.map((d) => d.ready));
  const started = performance.now() - t0;
  const rssWith = rssMb(process.pid);
  const t1 = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) =>
      drivers[i % DRIVERS].client.getUser({ userId: { opaqueId: `u${i}` } }, { timeout: 60_000 }),
    ),
  );
  const callsMs = performance.now() - t1;
  const lost = results.filter(
    (r, i) => r.status !== 'fulfilled' || r.value.user?.username !== `u${i}`,
  ).length;
  const t2 = performance.now();
  await Promise.all(drivers.map((d) => d.close()));
  const closed = performance.now() - t2;
  return [
    {
      row: 'scale',
      metric: `${DRIVERS} drivers: start all + close all`,
      value: (started + closed) / 1000,
      unit: 's',
      target: { max: 10, on: 'value', label: '≤ 10 s' },
      note: `start ${Math.round(started)} ms, close ${Math.round(closed)} ms`,
    },
    {
      row: 'scale',
      metric: `${CALLS} concurrent calls over ${DRIVERS} drivers`,
      value: callsMs / 1000,
      unit: 's',
      note: `${lost} lost or wrong (must be 0); ${Math.round(CALLS / (callsMs / 1000))} calls/s`,
    },
    {
      row: 'memory',
      metric: `host RSS with ${DRIVERS} drivers running`,
      value: rssWith,
      unit: 'MB',
      baseline: { name: 'host RSS before', value: rssBefore },
    },
  ];
}

/** What the gateway adds to a call, against calling the driver directly. */
export async function gateway(): Promise<Result[]> {
  const config = await configFromObject({
    drivers: { users: { type: 'userprovider', driver: join(BENCH_BIN, 'echo-driver') } },
  });
  const host = new DriverHost(config, { logger: quiet });
  const direct = await host.client('users', userprovider);
  const gw = await startGateway(host, '127.0.0.1:0');
  const channel = dial({ network: 'tcp', address: gw.address });
  const via = createClient(userprovider.versions[1], channel.invoke);
  try {
    const req = { userId: { opaqueId: 'x'.repeat(100) } };
    await timeEach(300, () => via.getUser(req));
    await timeEach(300, () => direct.getUser(req));
    const d: number[] = [];
    const g: number[] = [];
    const d64: number[] = [];
    const g64: number[] = [];
    for (let round = 0; round < 4; round++) {
      d.push(...(await timeEach(500, () => direct.getUser(req))));
      g.push(...(await timeEach(500, () => via.getUser(req))));
      d64.push(...(await timeConcurrent(2000, 64, () => direct.getUser(req))));
      g64.push(...(await timeConcurrent(2000, 64, () => via.getUser(req))));
    }
    return [
      {
        row: 'gateway',
        metric: 'p50 through the gateway (TCP loopback + relay)',
        value: percentile(g, 50),
        unit: 'ms',
        baseline: { name: 'direct call', value: percentile(d, 50) },
        target: { max: 1.5, on: 'ratio', label: '≤ 1.5× direct' },
      },
      {
        row: 'gateway',
        metric: 'p50 with 64 calls in flight through the gateway',
        value: percentile(g64, 50),
        unit: 'ms',
        baseline: { name: 'direct, 64 in flight', value: percentile(d64, 50) },
        target: { max: 1.5, on: 'ratio', label: '≤ 1.5× direct' },
      },
    ];
  } finally {
    channel.close();
    await gw.close();
    await host.close();
  }
}
