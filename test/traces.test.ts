// One trace across processes: a gateway client → the gateway → the host's client → the
// driver's handler → its broker callback into the host, linked by W3C traceparent in gRPC
// metadata. The test process records its spans in memory; drivers export theirs by
// OTLP/HTTP to a receiver here.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { startGateway } from '../src/gateway/gateway.js';
import { AuditLogDefinition } from '../src/gen/driverkit/audit/v1/audit.js';
import { openHost } from '../src/host/host.js';
import { createClient } from '../src/rpc/client.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { captureLogger, collect, hasGoToolchain, useDriver, waitFor } from './helpers.js';
import { BIN, ROOT } from './paths.js';

/** Debian's golang-opentelemetry-otel-dev, which the Go counter driver traces with. */
const GO_OTEL = '/usr/share/gocode/src/go.opentelemetry.io/otel/sdk';

/** A span as both sources give it: ids in hex, kind as OpenTelemetry's enum. */
interface Seen {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  where: 'test' | 'driver';
  code?: number;
}

const memory = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
const received: Seen[] = [];
let otlpUrl = '';
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    for (const rs of JSON.parse(body).resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          received.push({
            name: s.name,
            // OTLP numbers kinds from 1 (internal); the API from 0.
            kind: s.kind - 1,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || undefined,
            where: 'driver',
            code: s.attributes?.find((a: any) => a.key === 'rpc.grpc.status_code')?.value?.intValue,
          });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

beforeAll(async () => {
  provider.register();
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  otlpUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/v1/traces`;
});
afterAll(async () => {
  await provider.shutdown();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

function local(): Seen[] {
  return memory.getFinishedSpans().map((s: ReadableSpan) => ({
    name: s.name,
    kind: s.kind,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    where: 'test',
    code: s.attributes['rpc.grpc.status_code'] as number | undefined,
  }));
}

/** The spans of one trace, waiting until those named by `want` (where, kind, name) all ended. */
async function traceOf(traceId: string, want: Array<[Seen['where'], SpanKind, string]>) {
  const spans = () => [...local(), ...received].filter((s) => s.traceId === traceId);
  await waitFor(
    () =>
      want.every(([w, k, n]) => spans().some((s) => s.where === w && s.kind === k && s.name === n)),
    15_000,
    () =>
      `spans ${JSON.stringify(want)}; have ${JSON.stringify(spans().map((s) => [s.where, s.kind, s.name]))}`,
  );
  const one = (where: Seen['where'], kind: SpanKind, name: string) => {
    const hits = spans().filter((s) => s.where === where && s.kind === kind && s.name === name);
    expect(hits, `${where} ${SpanKind[kind]} ${name}`).toHaveLength(1);
    return hits[0];
  };
  return { spans, one };
}

describe('traces across host, gateway, driver and broker', () => {
  it('one trace from a gateway client down to a broker callback, for unary and streaming calls', async () => {
    const logger = captureLogger();
    const env = { DRIVERKIT_TEST_OTLP: otlpUrl };
    const host = await openHost({
      config: {
        drivers: {
          users: {
            type: 'userprovider',
            driver: BIN.fixture,
            env: { ...env, FIXTURE_CONTRACT: 'userprovider' },
          },
          counter: { type: 'counter', driver: BIN.counter, env },
        },
      },
      contracts: [counter],
      logger,
    });
    onTestFinished(() => host.close());
    const driver = await host.driver('users');
    const audit = await driver.broker.offer(AuditLogDefinition, { record: () => ({ count: '1' }) });
    await (driver.client as any).configure({ config: { audit } });
    await host.driver('counter');
    const gateway = await startGateway(host, '127.0.0.1:0');
    onTestFinished(() => gateway.close());
    const channel = new Client(gateway.address, credentials.createInsecure());
    onTestFinished(() => channel.close());

    // The gateway's client: its own span, sent as traceparent.
    const tracer = trace.getTracer('test');
    const call = async <T>(
      name: string,
      send: (metadata: Record<string, string>) => Promise<T>,
    ) => {
      const span = tracer.startSpan(name, { kind: SpanKind.CLIENT });
      const metadata: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), span), metadata);
      try {
        return {
          traceId: span.spanContext().traceId,
          spanId: span.spanContext().spanId,
          out: await send(metadata),
        };
      } finally {
        span.end();
      }
    };
    const users = createClient(userprovider.versions[1], grpcInvoke(channel));
    const unary = await call('client unary', (metadata) =>
      users.getUser({ userId: { opaqueId: 'traced' } }, { metadata }),
    );
    expect(unary.out.user?.username).toBe('traced');

    const GET_USER = 'driverkit.userprovider.v1.UserProvider/GetUser';
    const RECORD = 'driverkit.audit.v1.AuditLog/Record';
    const { one } = await traceOf(unary.traceId, [
      ['test', SpanKind.SERVER, GET_USER],
      ['test', SpanKind.CLIENT, GET_USER],
      ['driver', SpanKind.SERVER, GET_USER],
      ['driver', SpanKind.CLIENT, RECORD],
      ['test', SpanKind.SERVER, RECORD],
    ]);
    const gatewaySpan = one('test', SpanKind.SERVER, GET_USER);
    const hostSpan = one('test', SpanKind.CLIENT, GET_USER);
    const driverSpan = one('driver', SpanKind.SERVER, GET_USER);
    const callback = one('driver', SpanKind.CLIENT, RECORD);
    const brokered = one('test', SpanKind.SERVER, RECORD);
    expect(gatewaySpan.parentSpanId).toBe(unary.spanId);
    expect(hostSpan.parentSpanId).toBe(gatewaySpan.spanId);
    expect(driverSpan.parentSpanId).toBe(hostSpan.spanId);
    expect(callback.parentSpanId).toBe(driverSpan.spanId);
    expect(brokered.parentSpanId).toBe(callback.spanId);
    for (const s of [gatewaySpan, hostSpan, driverSpan, callback, brokered]) expect(s.code).toBe(0);
    // The driver's log line inside the call names the trace and its own span.
    const line = logger.entries.find((e) => e.message === 'traced call');
    expect(line?.fields).toMatchObject({ trace_id: unary.traceId, span_id: driverSpan.spanId });

    // A request context without a request id takes the trace id: logs and traces agree.
    const direct = await host.client('users', userprovider);
    const parent = tracer.startSpan('host caller');
    const reply = await context.with(trace.setSpan(context.active(), parent), () =>
      direct.getUser({ userId: { opaqueId: 'context' } }, { context: { user: 'ada' } }),
    );
    parent.end();
    expect(JSON.parse(reply.user!.username)).toEqual({
      requestId: parent.spanContext().traceId,
      user: 'ada',
    });

    // A server stream through the gateway: the same chain, ended when the stream ends.
    const counters = createClient(counter.versions[1], grpcInvoke(channel));
    const streamed = await call('client stream', (metadata) =>
      collect(counters.count({ n: 3, size: 1 }, { metadata })),
    );
    expect(streamed.out).toHaveLength(3);
    const COUNT = 'counter.v1.Counter/Count';
    const stream = await traceOf(streamed.traceId, [
      ['test', SpanKind.SERVER, COUNT],
      ['test', SpanKind.CLIENT, COUNT],
      ['driver', SpanKind.SERVER, COUNT],
    ]);
    const g = stream.one('test', SpanKind.SERVER, COUNT);
    const h = stream.one('test', SpanKind.CLIENT, COUNT);
    const d = stream.one('driver', SpanKind.SERVER, COUNT);
    expect([g.parentSpanId, h.parentSpanId, d.parentSpanId]).toEqual([
      streamed.spanId,
      g.spanId,
      h.spanId,
    ]);
    expect([g.code, h.code, d.code]).toEqual([0, 0, 0]);
  }, 60_000);

  it.skipIf(!hasGoToolchain || !existsSync(GO_OTEL))(
    "a Go driver (go-plugin, OpenTelemetry's Go SDK) joins the host's trace, unary and streaming",
    async () => {
      const dir = mkdtempSync(join(ROOT, '.cache', 'go-trace-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const plugin = join(dir, 'plugin');
      execFileSync('sh', [join(ROOT, 'test/go/counter/build.sh'), 'plugin'], {
        env: { ...process.env, OUT: plugin },
        stdio: 'pipe',
      });
      const spansFile = join(dir, 'spans.jsonl');
      const driver = useDriver({
        name: 'counter-go',
        path: plugin,
        contract: counter,
        env: { COUNTER_TRACE_FILE: spansFile },
      });
      await driver.ready;
      const tracer = trace.getTracer('test');
      const parent = tracer.startSpan('host caller');
      await context.with(trace.setSpan(context.active(), parent), async () => {
        await driver.client.add({ value: '1' });
        expect(await collect(driver.client.count({ n: 2, size: 1 }))).toHaveLength(2);
      });
      parent.end();
      const { traceId } = parent.spanContext();
      const goSpans = () =>
        existsSync(spansFile)
          ? readFileSync(spansFile, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
          : [];
      // Besides these, the driver traces the host's health check and stdio stream (no parent).
      const names = ['counter.v1.Counter/Add', 'counter.v1.Counter/Count'];
      await waitFor(
        () => names.every((n) => goSpans().some((s) => s.Name === n)),
        10_000,
        () => `spans ${names} from the Go driver; have ${goSpans().map((s) => s.Name)}`,
      );
      for (const name of names) {
        const host = local().filter(
          (s) => s.traceId === traceId && s.kind === SpanKind.CLIENT && s.name === name,
        );
        expect(host, name).toHaveLength(1);
        expect(host[0].parentSpanId).toBe(parent.spanContext().spanId);
        const go = goSpans().find((s) => s.Name === name);
        expect(go.SpanContext.TraceID).toBe(traceId);
        expect(go.Parent.SpanID).toBe(host[0].spanId);
        expect(go.SpanKind).toBe(2); // SpanKindServer
      }
    },
    240_000,
  );
});
