import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  driverkitStreamPeer,
  goStreamPeer,
  rawStreamPeer,
  type StreamPeer,
} from '../stream-peers.js';
import type { Result } from '../result.js';
import { interleaved, median, percentile } from '../stats.js';

// Many short rounds rather than a few long ones: on a shared machine the noise comes in
// bursts, and finer interleaving spreads each burst over all peers.
const ROUNDS = 10;
/** Ticks per Count call, per payload size: a round of the slowest peer takes about 0.2 s. */
const SIZES = [
  { size: 100, label: '100 B', n: 20_000 },
  { size: 65_536, label: '64 KiB', n: 1_000 },
];
const PINGS = 3000;
const TARGET = { max: 1.05, on: 'ratio', label: '≤ 1.05 (≤ 5% slower)' } as const;

/** go-plugin's host and plugin for the counter type, or why there are none. */
function buildGo(): { binary?: string; skipped?: string } {
  try {
    execFileSync(
      'sh',
      [
        '-c',
        'command -v go && command -v protoc && command -v protoc-gen-go && test -d /usr/share/gocode/src/github.com/hashicorp/go-plugin',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    return {
      skipped:
        'Go comparison skipped: needs Go, protoc and Debian go-plugin packages (.ci/run installs them)',
    };
  }
  const dir = join(process.cwd(), '.cache', 'bench-go');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'streaming');
  try {
    execFileSync('sh', [join(process.cwd(), 'bench/go/streaming/build.sh')], {
      env: { ...process.env, OUT: binary },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' ');
    return { skipped: `Go comparison skipped: bench/go/streaming/build.sh failed: ${stderr}` };
  }
  return { binary };
}

/**
 * Streaming calls, driverkit (typed client → SDK driver) against raw grpc-js (targets) and
 * go-plugin's Go host ↔ Go plugin (informational): server-streaming throughput at two
 * payload sizes, and bidi ping-pong latency.
 */
export async function streaming(): Promise<Result[]> {
  const go = buildGo();
  const peers: StreamPeer[] = [];
  try {
    peers.push(await driverkitStreamPeer(), await rawStreamPeer());
    if (go.binary) peers.push(await goStreamPeer(go.binary));
    for (const p of peers) {
      for (const { size, n } of SIZES) await p.rate(n / 4, size); // warm-up
      await p.pings(300);
    }
    const [dk, raw, gp] = [0, 1, 2];
    const out: Result[] = [];
    for (const { size, label, n } of SIZES) {
      // The median round, as in the unary throughput rows: one lucky round should not decide.
      const r = (await interleaved(peers, ROUNDS, (p) => p.rate(n, size))).map(median);
      const driverkit = { name: `driverkit ${Math.round(r[dk])}/s`, value: r[dk] };
      // Throughput ratios are inverted (baseline / value) so that, like the rest, lower is better.
      out.push({
        row: 'streaming',
        metric: `server stream, ${label}: raw grpc-js msgs/s ÷ driverkit msgs/s`,
        value: r[raw],
        unit: 'ratio',
        baseline: driverkit,
        target: TARGET,
      });
      if (go.binary)
        out.push({
          row: 'streaming',
          metric: `server stream, ${label}: go-plugin Go↔Go msgs/s ÷ driverkit msgs/s`,
          value: r[gp],
          unit: 'ratio',
          baseline: driverkit,
          note: 'informational',
        });
    }
    const lat = (await interleaved(peers, ROUNDS, (p) => p.pings(PINGS / ROUNDS))).map((r) =>
      r.flat(),
    );
    for (const [p, label] of [
      [50, 'p50'],
      [99, 'p99'],
    ] as const) {
      const value = percentile(lat[dk], p);
      const metric = `bidi ping-pong ${label}, 100 B`;
      out.push({
        row: 'streaming',
        metric,
        value,
        unit: 'ms',
        baseline: { name: 'raw grpc-js', value: percentile(lat[raw], p) },
        target: p === 50 ? { ...TARGET, label: '≤ 1.05× raw grpc-js' } : undefined,
      });
      if (go.binary)
        out.push({
          row: 'streaming',
          metric,
          value,
          unit: 'ms',
          baseline: { name: 'go-plugin Go↔Go', value: percentile(lat[gp], p) },
          note: 'informational',
        });
    }
    if (go.skipped)
      out.push({ row: 'streaming', metric: 'Go rows', value: 0, unit: '', note: go.skipped });
    return out;
  } finally {
    await Promise.all(peers.map((p) => p.close()));
  }
}
