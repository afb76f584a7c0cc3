// A driver run as a service on another "machine" (a network namespace on a bridge), over
// TCP with mTLS: driverkit's host against a plain grpc-js client and server on the same
// link; and failover: three replicas, one SIGKILLed under 64 concurrent calls.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { userprovider } from '../../src/contracts/userprovider.js';
import {
  GetUserRequest,
  GetUserResponse,
} from '../../src/gen/driverkit/userprovider/v1/userprovider.js';
import { launchDriver } from '../../src/launch/driver.js';
import { certificates } from '../../test/certs.js';
import { canMakeMachines, type Machines, makeMachines } from '../../test/machines-core.js';
import { BENCH_BIN, type Peer } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, median, percentile, throughput, timeEach } from '../stats.js';

const quiet = { log: () => {} };
const CALLS = 3000;

/** Runs `argv` on machine `name` and waits for `ready` in its output (stdout or stderr). */
async function startOn(
  m: Machines,
  name: string,
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', m.ns(name), ...argv], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const look = (d: Buffer) => {
      seen += d.toString();
      if (ready.test(seen)) resolve();
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) =>
      reject(new Error(`${argv[0]} on ${name} exited ${code}: ${seen}`)),
    );
  });
  return child;
}

function serviceEnv(address: string, certs: ReturnType<typeof certificates>) {
  return {
    DRIVERKIT_LISTEN: `tcp://${address}:7443`,
    DRIVERKIT_TLS_CERT: certs.cert,
    DRIVERKIT_TLS_KEY: certs.key,
    DRIVERKIT_TLS_CLIENT_CA: certs.ca,
  };
}

function grpcTlsPeer(target: string, certs: ReturnType<typeof certificates>): Peer {
  const client = new Client(
    target,
    credentials.createSsl(
      readFileSync(certs.ca),
      readFileSync(certs.clientKey),
      readFileSync(certs.clientCert),
    ),
  );
  const metadata = new Metadata();
  return {
    name: 'raw grpc-js',
    call: (p) =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          '/driverkit.userprovider.v1.UserProvider/GetUser',
          (v: GetUserRequest) => Buffer.from(GetUserRequest.encode(v).finish()),
          (b: Buffer) => GetUserResponse.decode(b),
          { userId: { idp: '', opaqueId: p, type: 0 }, skipFetchingGroups: false },
          metadata,
          {},
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      ),
    close: async () => client.close(),
  };
}

export async function remote(): Promise<Result[]> {
  if (!canMakeMachines) {
    process.stderr.write('bench: remote skipped (needs root and ip netns)\n');
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'dk-bench-remote-'));
  const m = makeMachines(['r1', 'r2', 'r3']);
  const children: ChildProcess[] = [];
  try {
    const replicas = ['r1', 'r2', 'r3'];
    const certs = certificates(
      dir,
      'bench',
      replicas.map((r) => m.address[r]),
    );
    const procs = new Map<string, ChildProcess>();
    const start = async (r: string) => {
      const child = await startOn(
        m,
        r,
        [join(BENCH_BIN, 'echo-driver')],
        serviceEnv(m.address[r], certs),
        /serving as a service/,
      );
      children.push(child);
      return child;
    };
    for (const r of replicas) procs.set(r, await start(r));
    children.push(
      await startOn(
        m,
        'r1',
        [
          process.execPath,
          join(BENCH_BIN, 'raw-tls-server'),
          `${m.address.r1}:7444`,
          certs.cert,
          certs.key,
          certs.ca,
        ],
        {},
        /ready/,
      ),
    );
    const tls = { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey };
    const one = launchDriver({
      name: 'remote',
      path: 'remote',
      contract: userprovider,
      address: `tls://${m.address.r1}:7443`,
      tls,
      logger: quiet,
    });
    await one.ready;
    const dk: Peer = {
      name: 'driverkit',
      call: (p) => one.client.getUser({ userId: { opaqueId: p } }),
      close: () => one.close(),
    };
    const raw = grpcTlsPeer(`${m.address.r1}:7444`, certs);
    const peers = [dk, raw];
    const payload = 'x'.repeat(100);
    for (const p of peers) await timeEach(300, () => p.call(payload));
    const lat = (
      await interleaved(peers, 4, (p) => timeEach(CALLS / 4, () => p.call(payload)))
    ).map((r) => r.flat());
    const conc = (
      await interleaved(peers, 6, (p) => throughput(6000 / 6, 64, () => p.call(payload)))
    ).map(median);
    await Promise.all(peers.map((p) => p.close()));
    const out: Result[] = [
      {
        row: 'remote',
        metric: 'unary p50, 100 B, TCP + mTLS to another namespace',
        value: percentile(lat[0], 50),
        unit: 'ms',
        baseline: { name: 'raw grpc-js, same link', value: percentile(lat[1], 50) },
        target: { max: 1.1, on: 'ratio', label: '≤ 1.1× raw grpc-js' },
      },
      {
        row: 'remote',
        metric: `64 concurrent: raw grpc-js calls/s ÷ driverkit calls/s (driverkit ${Math.round(conc[0])}/s)`,
        value: conc[1],
        unit: 'ratio',
        baseline: { name: `driverkit ${Math.round(conc[0])}/s`, value: conc[0] },
        target: { max: 1.1, on: 'ratio', label: '≤ 1.1' },
      },
    ];
    out.push(
      ...(await failover(
        replicas.map((r) => `tls://${m.address[r]}:7443`),
        tls,
        procs,
        start,
      )),
    );
    return out;
  } finally {
    for (const c of children) c.kill('SIGKILL');
    m.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls `check` every 5 ms until it holds (a bench may poll; tests wait for events). */
async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('bench: remote: timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Three replicas, 64 callers in a loop, one replica SIGKILLed per round (then started
 * again): the time to its ejection, and to the last failed call (GetUser is idempotent:
 * calls in flight on the killed replica are sent again, so none should fail).
 */
async function failover(
  addresses: string[],
  tls: { caFile: string; certFile: string; keyFile: string },
  procs: Map<string, ChildProcess>,
  start: (replica: string) => Promise<ChildProcess>,
): Promise<Result[]> {
  const driver = launchDriver({
    name: 'replicas',
    path: 'replicas',
    contract: userprovider,
    address: addresses,
    tls,
    logger: quiet,
  });
  await driver.ready;
  const names = [...procs.keys()];
  const ejected: number[] = [];
  const lastFailed: number[] = [];
  let failed = 0;
  const ROUNDS = 6;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const victim = round % names.length;
      await until(() => driver.replicas!.every((r) => r.state === 'ready'));
      let ok = 0;
      let stop = false;
      let last = 0;
      const loop = Promise.all(
        Array.from({ length: 64 }, async () => {
          while (!stop) {
            try {
              await driver.client.getUser({ userId: { opaqueId: 'x' } });
              ok++;
            } catch {
              failed++;
              last = performance.now();
              await new Promise((r) => setImmediate(r));
            }
          }
        }),
      );
      await until(() => ok >= 1000);
      const killedAt = performance.now();
      procs.get(names[victim])!.kill('SIGKILL');
      await until(() => driver.replicas![victim].state === 'ejected');
      ejected.push(performance.now() - killedAt);
      const after = ok;
      await until(() => ok >= after + 2000);
      stop = true;
      await loop;
      lastFailed.push(last > killedAt ? last - killedAt : 0);
      procs.set(names[victim], await start(names[victim]));
    }
  } finally {
    await driver.close();
  }
  const note = `${ROUNDS} rounds, 64 concurrent GetUser (idempotent); ${failed} calls failed in all`;
  return [
    {
      row: 'remote',
      metric: 'failover: SIGKILL of 1 of 3 replicas → ejected, p50',
      value: median(ejected),
      unit: 'ms',
      note: `max ${Math.max(...ejected).toFixed(1)} ms; ${note}`,
    },
    {
      row: 'remote',
      metric: 'failover: SIGKILL → last failed call, max',
      value: Math.max(...lastFailed),
      unit: 'ms',
      note: '0: no call failed',
    },
  ];
}
