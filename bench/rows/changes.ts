// What each of driverkit's transport choices buys, each measured against the thing it
// replaced, in the same run: the driver's node:http2 server against grpc-js's server
// (one plain grpc-js client for both), and the host's channel options against grpc-js's
// defaults (one driver for both). docs/performance.md tells the story behind each.
import { CHANNEL_OPTIONS } from '../../src/host/connect.js';
import { driverServerPeer, type Peer, rawGrpcPeer } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, percentile, timeEach } from '../stats.js';

const ROUNDS = 8;

/** p50 over `calls` calls a round, and host CPU µs per call, rounds interleaved across peers. */
async function measure(peers: Peer[], payload: string, calls: number): Promise<Array<{ p50: number; cpuPerCall: number }>> {
  for (const p of peers) await timeEach(Math.min(calls, 50), () => p.call(payload)); // warm-up
  const rounds = await interleaved(peers, ROUNDS, async (p) => {
    const before = process.cpuUsage();
    const times = await timeEach(calls, () => p.call(payload));
    const used = process.cpuUsage(before);
    return { times, cpu: used.user + used.system };
  });
  return rounds.map((r) => {
    const times = r.flatMap((x) => x.times);
    return { p50: percentile(times, 50), cpuPerCall: r.reduce((sum, x) => sum + x.cpu, 0) / times.length };
  });
}

export async function changes(): Promise<Result[]> {
  const out: Result[] = [];
  const servers = [await driverServerPeer('driverkit server'), await rawGrpcPeer()];
  try {
    for (const [size, calls, label] of [[100, 300, '100 B'], [1 << 20, 5, '1 MiB']] as const) {
      const [lean, grpc] = await measure(servers, 'x'.repeat(size), calls);
      out.push({ row: 'changes', metric: `driver's node:http2 server vs grpc-js server, p50 at ${label} (same grpc-js client)`, value: lean.p50, unit: 'ms', baseline: { name: 'grpc-js server', value: grpc.p50 } });
    }
  } finally {
    await Promise.all(servers.map((p) => p.close()));
  }
  const clients = [await driverServerPeer('driverkit options', CHANNEL_OPTIONS), await driverServerPeer('grpc-js defaults')];
  try {
    const [tuned, plain] = await measure(clients, 'x'.repeat(100), 300);
    out.push({ row: 'changes', metric: "host channel options vs grpc-js defaults: host CPU per call, 100 B (same driver)", value: tuned.cpuPerCall, unit: 'µs', baseline: { name: 'grpc-js defaults', value: plain.cpuPerCall } });
    out.push({ row: 'changes', metric: 'host channel options vs grpc-js defaults: p50, 100 B (same driver)', value: tuned.p50, unit: 'ms', baseline: { name: 'grpc-js defaults', value: plain.p50 } });
    const [bigTuned, bigPlain] = await measure(clients, 'x'.repeat(1 << 20), 5);
    out.push({ row: 'changes', metric: 'host channel options vs grpc-js defaults: p50, 1 MiB (same driver)', value: bigTuned.p50, unit: 'ms', baseline: { name: 'grpc-js defaults', value: bigPlain.p50 } });
  } finally {
    await Promise.all(clients.map((p) => p.close()));
  }
  return out;
}
