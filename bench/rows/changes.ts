// What each of driverkit's transport choices buys, each measured against the thing it
// replaced, in the same run: the driver's node:http2 server against grpc-js's server
// (one plain grpc-js client for both), and the host's channel options (a 4 MiB HTTP/2
// window) against grpc-js's defaults (one driver for both). docs/performance.md tells the
// story behind each.
import { CONNECTION_WINDOW_BYTES, MESSAGE_LIMIT_OPTIONS } from '../../src/protocol/limits.js';

/** What the host's grpc-js channel was given before the one transport: a 4 MiB window. */
const CHANNEL_OPTIONS = {
  ...MESSAGE_LIMIT_OPTIONS,
  'grpc-node.flow_control_window': CONNECTION_WINDOW_BYTES,
};
import { driverServerPeer, type Peer, rawGrpcPeer } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, percentile, timeEach } from '../stats.js';

const ROUNDS = 8;

/** p50 over `calls` calls a round, rounds interleaved across peers. */
async function measure(
  peers: Peer[],
  payload: string,
  calls: number,
): Promise<Array<{ p50: number }>> {
  for (const p of peers) await timeEach(Math.min(calls, 50), () => p.call(payload)); // warm-up
  const rounds = await interleaved(peers, ROUNDS, (p) => timeEach(calls, () => p.call(payload)));
  return rounds.map((r) => ({ p50: percentile(r.flat(), 50) }));
}

const SIZES = [
  [100, 300, '100 B'],
  [1 << 20, 5, '1 MiB'],
] as const;

/** p50 of the first peer (ours) against the second (what it replaced), per payload size; closes both. */
async function compare(
  peers: [Peer, Peer],
  metric: (size: string) => string,
  baseline: string,
): Promise<Result[]> {
  try {
    const out: Result[] = [];
    for (const [size, calls, label] of SIZES) {
      const [ours, theirs] = await measure(peers, 'x'.repeat(size), calls);
      out.push({
        row: 'changes',
        metric: metric(label),
        value: ours.p50,
        unit: 'ms',
        baseline: { name: baseline, value: theirs.p50 },
      });
    }
    return out;
  } finally {
    await Promise.all(peers.map((p) => p.close()));
  }
}

export async function changes(): Promise<Result[]> {
  const server = await compare(
    [await driverServerPeer('driverkit server'), await rawGrpcPeer()],
    (size) => `p50 at ${size}: driver's node:http2 server vs grpc-js's (same grpc-js client)`,
    'grpc-js server',
  );
  const options = await compare(
    [
      await driverServerPeer('driverkit options', CHANNEL_OPTIONS),
      await driverServerPeer('grpc-js defaults'),
    ],
    (size) =>
      `p50 at ${size}: a grpc-js client's 4 MiB HTTP/2 window vs its defaults (same driver)`,
    'grpc-js defaults',
  );
  return [...server, ...options];
}
