// What metrics and traces cost a call: the same echo driver, called with and without the
// metrics step, then with an OpenTelemetry SDK registered (spans batched to an exporter
// that drops them). An SDK cannot be unregistered from a process, so the "off" rounds of
// the tracing rows all run before it is registered; the metrics rows interleave.
import { join } from 'node:path';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { startDriver } from '../../src/launch/driver.js';
import { userprovider } from '../../src/contracts/userprovider.js';
import { CallMetrics } from '../../src/metrics/metrics.js';
import { BENCH_BIN, quiet } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, median, percentile, throughput, timeEach } from '../stats.js';

const CALLS = 3000;
const CONCURRENT_CALLS = 6000;
const ROUNDS = 6;

const nowhere: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

async function peer(name: string, metrics?: CallMetrics) {
  const driver = await startDriver({
    name,
    path: join(BENCH_BIN, 'echo-driver'),
    contract: userprovider,
    logger: quiet,
    steps: metrics ? [metrics.step(name)] : [],
  });
  const payload = 'x'.repeat(100);
  return {
    call: () => driver.client.getUser({ userId: { opaqueId: payload } }),
    close: () => driver.close(),
  };
}

/** p50 of each peer over interleaved rounds, and their median 64-concurrent calls/s. */
async function measure(peers: Array<{ call: () => Promise<unknown> }>) {
  for (const p of peers) await timeEach(300, p.call);
  const lat = (await interleaved(peers, 4, (p) => timeEach(CALLS / 4, p.call))).map((r) =>
    percentile(r.flat(), 50),
  );
  const conc = (
    await interleaved(peers, ROUNDS, (p) => throughput(CONCURRENT_CALLS / ROUNDS, 64, p.call))
  ).map(median);
  return { lat, conc };
}

export async function observability(): Promise<Result[]> {
  const off = await peer('off');
  const metered = await peer('metrics', new CallMetrics());
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(nowhere)],
  });
  try {
    const before = await measure([off, metered]);
    provider.register();
    const after = await measure([metered]);
    const row = (metric: string, value: number, base: number, baseName: string) => ({
      row: 'observability',
      metric,
      value,
      unit: metric.includes('calls/s') ? 'ratio' : 'ms',
      baseline: { name: baseName, value: base },
      target: { max: 1.05, on: 'ratio' as const, label: '≤ 1.05×' },
    });
    return [
      row('unary p50, 100 B: metrics on vs off', before.lat[1], before.lat[0], 'off'),
      row(
        'unary p50, 100 B: metrics and tracing on vs off',
        after.lat[0],
        before.lat[0],
        'off (before the SDK)',
      ),
      // Throughput ratios inverted (off calls/s ÷ on calls/s): lower is better, as elsewhere.
      row(
        `64 concurrent: off calls/s ÷ metrics-on calls/s (on ${Math.round(before.conc[1])}/s)`,
        before.conc[0],
        before.conc[1],
        `metrics on ${Math.round(before.conc[1])}/s`,
      ),
      row(
        `64 concurrent: off calls/s ÷ metrics-and-tracing calls/s (on ${Math.round(after.conc[0])}/s)`,
        before.conc[0],
        after.conc[0],
        `both on ${Math.round(after.conc[0])}/s`,
      ),
    ];
  } finally {
    await provider.shutdown();
    await Promise.all([off.close(), metered.close()]);
  }
}
