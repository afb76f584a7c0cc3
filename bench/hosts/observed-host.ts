// One host process of the observability row: calls the echo driver with neither metrics nor
// tracing, with metrics, or with both (an OpenTelemetry SDK registered, spans batched to an
// exporter that drops them), and prints its p50 (ms) and 64-concurrent calls/s as JSON.
// A process per measurement: an SDK cannot be unregistered from a process once registered.
import { join } from 'node:path';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { userprovider } from '../../src/contracts/userprovider.js';
import { startDriver } from '../../src/launch/driver.js';
import { CallMetrics } from '../../src/metrics/metrics.js';
import { median, percentile, throughput, timeEach } from '../stats.js';

const mode = process.argv[2] as 'off' | 'metrics' | 'both' | 'both-without-context';
const nowhere: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};
const provider = mode.startsWith('both')
  ? new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(nowhere)] })
  : undefined;
// 'both-without-context': the SDK without its AsyncLocalStorage context manager, whose
// promise hooks tax every promise of the process, to tell that cost from driverkit's spans.
provider?.register(mode === 'both-without-context' ? { contextManager: null } : {});
const metrics = mode === 'off' ? undefined : new CallMetrics();
const driver = await startDriver({
  name: mode,
  path: join(process.cwd(), '.cache', 'bench', 'echo-driver'),
  contract: userprovider,
  logger: { log: () => {} },
  steps: metrics ? [metrics.step(mode)] : [],
});
const payload = 'x'.repeat(100);
const call = () => driver.client.getUser({ userId: { opaqueId: payload } });
await timeEach(1000, call); // warm-up
const p50 = percentile(await timeEach(1500, call), 50);
const rounds: number[] = [];
for (let i = 0; i < 3; i++) rounds.push(await throughput(1000, 64, call));
await driver.close();
await provider?.shutdown();
process.stdout.write(`${JSON.stringify({ p50, callsPerSecond: median(rounds) })}\n`);
