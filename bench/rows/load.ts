// The load matrix: concurrency × payload (both ways) × peer (TS driver over a unix socket
// and TCP, grpc-go driver, the TS driver through the gateway) × unary and bidi. Each cell
// reports calls/s, p50 and p99, and must lose and hang nothing: a call that fails counts
// as lost, one that reaches its 30 s deadline as hung. The baseline of each cell's p50 is
// the same cell at concurrency 1 on the unix socket, measured in this run.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startGateway } from '../../src/gateway/gateway.js';
import { type Driver, startDriver } from '../../src/launch/driver.js';
import { createClient } from '../../src/rpc/client.js';
import { Status } from '../../src/status.js';
import { dial } from '../../src/transport/client.js';
import { interop } from '../../test/fixtures/gen/contracts/interop.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { percentile } from '../stats.js';

const CONCURRENCY = [1, 16, 64, 256];
const PAYLOADS = [100, 64 * 1024, 300 * 1024, 4 * 1024 * 1024];
/** Bytes each way per cell, so that a cell of large messages stays a few seconds long. */
const CELL_BYTES = 128 * 1024 * 1024;
const quiet = { log: () => {} };
const TestService = interop.versions[1];
type Client = ReturnType<typeof createClient<typeof TestService>>;

interface LoadPeer {
  name: string;
  /** The largest message the peer takes, if under the matrix's 4 MiB (grpc-go's default receive limit is 4 MiB, framing included). */
  maxMessage?: number;
  client: Client;
  close(): Promise<void>;
}

const label = (size: number) =>
  size >= 1 << 20 ? `${size >> 20} MiB` : size >= 1024 ? `${size >> 10} KiB` : `${size} B`;

async function driverPeer(
  name: string,
  path: string,
  env = {},
): Promise<LoadPeer & { driver: Driver<typeof interop> }> {
  const driver = await startDriver({ name, path, contract: interop, logger: quiet, env });
  return { name, driver, client: driver.client, close: () => driver.close() };
}

/** The TS driver behind a gateway with limits raised past the matrix's largest cell. */
async function gatewayPeer(): Promise<LoadPeer> {
  const inner = await driverPeer('gateway', join(BENCH_BIN, 'interop-driver'));
  const big = 8 * 1024 * 1024 * 1024;
  const gateway = await startGateway(
    {
      instances: () => [{ name: 'interop', services: [TestService] }],
      invoke: (_name, call) => inner.driver.invoke(call),
      isReady: () => inner.driver.state === 'ready',
    },
    '127.0.0.1:0',
    { maxMemory: big, maxClientMemory: big, maxConcurrentCalls: 4096, maxCallsPerClient: 1024 },
  );
  const channel = dial({ network: 'tcp', address: gateway.address });
  return {
    name: 'TS via gateway',
    client: createClient(TestService, channel.invoke),
    close: async () => {
      channel.close();
      await gateway.close();
      await inner.close();
    },
  };
}

/** Builds the grpc-go interop driver when Go and Debian's go-plugin are there; else undefined. */
function goDriverPath(): string | undefined {
  const out = join(BENCH_BIN, 'go-interop');
  try {
    execFileSync('sh', [join(process.cwd(), 'test/go/interop/build.sh'), 'server'], {
      env: { ...process.env, OUT: out },
      stdio: 'ignore',
    });
    return out;
  } catch {
    return undefined;
  }
}

async function cell(peer: LoadPeer, kind: 'unary' | 'bidi', concurrency: number, asked: number) {
  const size = Math.min(asked, peer.maxMessage ?? asked);
  const calls = Math.max(concurrency, Math.min(400, Math.floor(CELL_BYTES / size)));
  const body = Buffer.alloc(size);
  // Long enough for the slowest legitimate call (256 × 4 MiB queued on one connection is
  // about 30 s of copying here): past it a call counts as hung, not as slow.
  const options = { timeout: 120_000 };
  const one = async () => {
    if (kind === 'unary') {
      const r = await peer.client.unaryCall({ responseSize: size, payload: { body } }, options);
      if (r.payload?.body.length !== size) throw new Error('short response');
      return;
    }
    let got = 0;
    const requests = [{ responseParameters: [{ size }], payload: { body } }];
    for await (const r of peer.client.fullDuplexCall(requests, options))
      got += r.payload?.body.length ?? 0;
    if (got !== size) throw new Error('short stream');
  };
  const times: number[] = [];
  let lost = 0;
  let hung = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) {
        const t0 = performance.now();
        try {
          await one();
          times.push(performance.now() - t0);
        } catch (err) {
          if ((err as { status?: number }).status === Status.DEADLINE_EXCEEDED) hung++;
          else lost++;
          firstError ??= String(err).slice(0, 200);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: times.length / seconds,
    p50: times.length ? percentile(times, 50) : Number.NaN,
    p99: times.length ? percentile(times, 99) : Number.NaN,
    lost,
    hung,
    firstError,
  };
}

export async function load(): Promise<Result[]> {
  const peers: LoadPeer[] = [
    await driverPeer('TS unix', join(BENCH_BIN, 'interop-driver')),
    await driverPeer('TS tcp', join(BENCH_BIN, 'interop-driver'), { INTEROP_NETWORK: 'tcp' }),
  ];
  const go = goDriverPath();
  if (go) peers.push({ ...(await driverPeer('Go unix', go)), maxMessage: 4 * 1024 * 1024 - 1024 });
  peers.push(await gatewayPeer());
  const out: Result[] = [];
  let bad = 0;
  try {
    for (const kind of ['unary', 'bidi'] as const) {
      for (const size of PAYLOADS) {
        let base: number | undefined;
        for (const peer of peers) {
          for (const c of CONCURRENCY) {
            process.stderr.write(`load: ${peer.name} ${kind} ${label(size)} ×${c} … `);
            const r = await cell(peer, kind, c, size);
            process.stderr.write(
              `${Math.round(r.perSecond)}/s, lost ${r.lost}, hung ${r.hung} ${r.firstError ?? ''}\n`,
            );
            base ??= r.p50;
            if (r.lost + r.hung > 0) bad++;
            out.push({
              row: 'load',
              metric: `${peer.name} ${kind} ${label(size)} ×${c}: ${Math.round(r.perSecond)}/s, p99 ${r.p99.toFixed(1)} ms`,
              value: r.p50,
              unit: 'ms',
              baseline: { name: 'TS unix ×1 p50', value: base },
              note: `lost ${r.lost}, hung ${r.hung}${r.firstError ? `: ${r.firstError}` : ''}`,
            });
          }
        }
      }
    }
  } finally {
    await Promise.all(peers.map((p) => p.close()));
  }
  out.unshift({
    row: 'load',
    metric: `cells with a lost or hung call, of ${out.length} (${peers.map((p) => p.name).join(', ')})`,
    value: bad,
    unit: 'cells',
    target: { max: 0, on: 'value', label: '0' },
  });
  return out;
}
