// What metrics and traces cost a call: the same echo driver called from host processes
// with neither, with metrics, and with metrics and an OpenTelemetry SDK (spans batched to
// an exporter that drops them). Each measurement is a process of its own (an SDK cannot be
// unregistered), and the three modes alternate, so drift hits them alike.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { median } from '../stats.js';

const ROUNDS = 5;
const MODES = ['off', 'metrics', 'both', 'both-without-context'] as const;

export async function observability(): Promise<Result[]> {
  const seen = { off: [], metrics: [], both: [], 'both-without-context': [] } as Record<
    (typeof MODES)[number],
    Array<{ p50: number; callsPerSecond: number }>
  >;
  for (let round = 0; round < ROUNDS; round++)
    for (const mode of MODES) {
      const { stdout } = await promisify(execFile)(process.execPath, [
        join(BENCH_BIN, 'observed-host'),
        mode,
      ]);
      seen[mode].push(JSON.parse(stdout));
    }
  const p50 = (m: (typeof MODES)[number]) => median(seen[m].map((s) => s.p50));
  const rate = (m: (typeof MODES)[number]) => median(seen[m].map((s) => s.callsPerSecond));
  const target = { max: 1.05, on: 'ratio' as const, label: '≤ 1.05×' };
  const row = (metric: string, value: number, base: number, name: string, unit = 'ms') => ({
    row: 'observability',
    metric,
    value,
    unit,
    baseline: { name, value: base },
    target,
  });
  return [
    row('unary p50, 100 B: metrics on vs off', p50('metrics'), p50('off'), 'off'),
    row('unary p50, 100 B: metrics and tracing on vs off', p50('both'), p50('off'), 'off'),
    // Throughput ratios inverted (off calls/s ÷ on calls/s): lower is better, as elsewhere.
    row(
      `64 concurrent: off calls/s ÷ metrics-on calls/s (on ${Math.round(rate('metrics'))}/s)`,
      rate('off'),
      rate('metrics'),
      `metrics on ${Math.round(rate('metrics'))}/s`,
      'ratio',
    ),
    row(
      `64 concurrent: off calls/s ÷ metrics-and-tracing calls/s (on ${Math.round(rate('both'))}/s)`,
      rate('off'),
      rate('both'),
      `both on ${Math.round(rate('both'))}/s`,
      'ratio',
    ),
    {
      ...row(
        `64 concurrent: off ÷ both with the SDK's context manager left out (${Math.round(rate('both-without-context'))}/s)`,
        rate('off'),
        rate('both-without-context'),
        `no context manager ${Math.round(rate('both-without-context'))}/s`,
        'ratio',
      ),
      target: undefined,
      note: "the rest is AsyncLocalStorage's promise hooks (Node 20), paid by every promise",
    },
  ];
}
