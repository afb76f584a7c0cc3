import { driverkitPeer, http2Peer, rawGrpcPeer } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, median, percentile, throughput, timeEach } from '../stats.js';

const CALLS = 3000;
const CONCURRENT_CALLS = 6000;
const SIZES = [100, 10_240, 102_400, 1_048_576];
const THROUGHPUT_ROUNDS = 6;

/** Unary latency and throughput: driverkit vs raw grpc-js vs node:http2, same payload, unix sockets. */
export async function latency(): Promise<Result[]> {
  const peers = [await driverkitPeer(), await rawGrpcPeer(), await http2Peer()];
  try {
    const payload = 'x'.repeat(100);
    for (const p of peers) await timeEach(300, () => p.call(payload)); // warm-up
    const lat = (
      await interleaved(peers, 4, (p) => timeEach(CALLS / 4, () => p.call(payload)))
    ).map((r) => r.flat());
    // The median round, not the best: one lucky round of one peer should not decide the ratio.
    const seq = (
      await interleaved(peers, THROUGHPUT_ROUNDS, (p) =>
        throughput(CALLS / THROUGHPUT_ROUNDS, 1, () => p.call(payload)),
      )
    ).map(median);
    const conc = (
      await interleaved(peers, THROUGHPUT_ROUNDS, (p) =>
        throughput(CONCURRENT_CALLS / THROUGHPUT_ROUNDS, 64, () => p.call(payload)),
      )
    ).map(median);
    const [dk, raw, h2] = [0, 1, 2];
    const out: Result[] = [];
    for (const [p, label] of [
      [50, 'p50'],
      [99, 'p99'],
    ] as const) {
      const v = percentile(lat[dk], p);
      out.push({
        row: 'latency',
        metric: `unary ${label}, 100 B`,
        value: v,
        unit: 'ms',
        baseline: { name: 'raw grpc-js', value: percentile(lat[raw], p) },
        target: p === 50 ? { max: 1.05, on: 'ratio', label: '≤ 1.05× raw grpc-js' } : undefined,
      });
      out.push({
        row: 'latency',
        metric: `unary ${label}, 100 B, vs raw node:http2 ping-pong`,
        value: v,
        unit: 'ms',
        baseline: { name: 'node:http2', value: percentile(lat[h2], p) },
        target: p === 50 ? { max: 1.3, on: 'ratio', label: '≤ 1.3× node:http2' } : undefined,
      });
      out.push({
        row: 'latency',
        metric: `raw grpc-js ${label} vs node:http2`,
        value: percentile(lat[raw], p),
        unit: 'ms',
        baseline: { name: 'node:http2', value: percentile(lat[h2], p) },
      });
    }
    // Throughput ratios are inverted (baseline / value) so that, like the rest, lower is better.
    for (const [t, label] of [
      [seq, 'sequential'],
      [conc, '64 concurrent'],
    ] as const) {
      out.push({
        row: 'throughput',
        metric: `${label}: raw grpc-js calls/s ÷ driverkit calls/s (driverkit ${Math.round(t[dk])}/s)`,
        value: t[raw],
        unit: 'ratio',
        baseline: { name: `driverkit ${Math.round(t[dk])}/s`, value: t[dk] },
        target: { max: 1.05, on: 'ratio', label: '≤ 1.05 (≤ 5% slower)' },
      });
      out.push({
        row: 'throughput',
        metric: `${label}: node:http2 calls/s ÷ driverkit calls/s`,
        value: t[h2],
        unit: 'ratio',
        baseline: { name: `driverkit ${Math.round(t[dk])}/s`, value: t[dk] },
        target: { max: 1.3, on: 'ratio', label: '≤ 1.3' },
      });
      out.push({
        row: 'throughput',
        metric: `${label}: node:http2 calls/s ÷ raw grpc-js calls/s (http2 ${Math.round(t[h2])}/s)`,
        value: t[h2],
        unit: 'ratio',
        baseline: { name: `raw grpc-js ${Math.round(t[raw])}/s`, value: t[raw] },
      });
    }
    for (const size of SIZES) {
      const body = 'x'.repeat(size);
      const n = size >= 1 << 20 ? 30 : size >= 100_000 ? 100 : 300;
      const [d, r] = await interleaved(peers.slice(0, 2), 4, (p) =>
        timeEach(n / 4, () => p.call(body)),
      );
      out.push({
        row: 'payload',
        metric: `p50 at ${size >= 1 << 20 ? '1 MiB' : size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`,
        value: percentile(d.flat(), 50),
        unit: 'ms',
        baseline: { name: 'raw grpc-js', value: percentile(r.flat(), 50) },
      });
    }
    return out;
  } finally {
    await Promise.all(peers.map((p) => p.close()));
  }
}
