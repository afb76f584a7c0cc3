// Prometheus metrics of calls to drivers, with prom-client: a step that measures every call
// of a client in one place, and the registry it writes to (a host's own, or one of ours).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Call, Interceptor } from '../rpc/client.js';
import { observeCall } from '../rpc/observe.js';
import { Status, statusName } from '../status.js';

/** Latency buckets, seconds: from a local call's sub-millisecond to a slow backend's seconds. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const CALL_LABELS = ['driver', 'service', 'method'] as const;
type CallLabel = (typeof CALL_LABELS)[number];

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /** Where the metrics are registered: a host's own registry, to merge into its `/metrics`. Default: a new one. */
  registry?: Registry;
}

/**
 * driverkit's call metrics, named by Prometheus' conventions. Labels are bounded: the
 * driver (instance name), the gRPC service and method, and the status code's name; never a
 * user or a request.
 */
export class CallMetrics {
  readonly registry: Registry;
  readonly calls: Counter<CallLabel | 'code'>;
  readonly duration: Histogram<CallLabel>;
  readonly inFlight: Gauge<CallLabel>;
  readonly sentBytes: Counter<CallLabel>;
  readonly receivedBytes: Counter<CallLabel>;
  readonly streamsOpen: Gauge<CallLabel>;

  constructor(options: MetricsOptions = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    const labelNames = CALL_LABELS;
    this.calls = new Counter({
      name: 'driverkit_calls_total',
      help: 'Calls to drivers that ended, by gRPC status code.',
      labelNames: [...CALL_LABELS, 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'driverkit_call_duration_seconds',
      help: 'Time from a call sent to its status (for a stream, its end).',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'driverkit_calls_in_flight',
      help: 'Calls sent to drivers and not yet ended.',
      labelNames,
      registers,
    });
    this.sentBytes = new Counter({
      name: 'driverkit_sent_message_bytes_total',
      help: 'Bytes of request messages sent to drivers (encoded, before framing).',
      labelNames,
      registers,
    });
    this.receivedBytes = new Counter({
      name: 'driverkit_received_message_bytes_total',
      help: 'Bytes of response messages received from drivers.',
      labelNames,
      registers,
    });
    this.streamsOpen = new Gauge({
      name: 'driverkit_streams_open',
      help: 'Calls whose responses are streaming now.',
      labelNames,
      registers,
    });
  }

  /** The step that measures every call of one driver's client; give it to a driver's `steps`. */
  step(driver: string): Interceptor {
    const byPath = new Map<string, PathMetrics>();
    return (next) => (call) => {
      let pm = byPath.get(call.path);
      if (!pm) byPath.set(call.path, (pm = this.#forPath(driver, call.path)));
      const m = pm;
      const start = performance.now();
      m.inFlight.inc();
      let streaming = false;
      return observeCall(
        next,
        { ...call, serialize: m.counted(call.serialize), deserialize: m.read(call.deserialize) },
        (code) => {
          m.inFlight.dec();
          if (streaming) m.streams.dec();
          m.duration.observe((performance.now() - start) / 1000);
          m.code(code).inc();
        },
        () => {
          streaming = true;
          m.streams.inc();
        },
      );
    };
  }

  /**
   * Drops every series of `driver` (a driver found in a socket folder and gone), so that
   * drivers that come and go do not grow the registry without bound.
   */
  forget(driver: string): void {
    for (const labels of this.#series.get(driver) ?? []) {
      for (const m of [this.inFlight, this.streamsOpen, this.duration]) m.remove(labels);
      for (const m of [this.sentBytes, this.receivedBytes]) m.remove(labels);
      for (const code of Object.keys(Status)) this.calls.remove({ ...labels, code });
    }
    this.#series.delete(driver);
  }

  /** The label sets each driver's calls used, for `forget`. */
  readonly #series = new Map<string, Array<Record<CallLabel, string>>>();

  /** The children of one method's metrics, looked up once rather than per call. */
  #forPath(driver: string, path: string): PathMetrics {
    const slash = path.lastIndexOf('/');
    const labels = { driver, service: path.slice(1, slash), method: path.slice(slash + 1) };
    let series = this.#series.get(driver);
    if (!series) this.#series.set(driver, (series = []));
    series.push(labels);
    const codes = new Map<number, Counter.Internal>();
    const sent = this.sentBytes.labels(labels);
    const received = this.receivedBytes.labels(labels);
    // Codecs wrapped once each (typed clients share one per method; a relay, identity).
    const serializers = new WeakMap<Call['serialize'], Call['serialize']>();
    const deserializers = new WeakMap<Call['deserialize'], Call['deserialize']>();
    return {
      inFlight: this.inFlight.labels(labels),
      streams: this.streamsOpen.labels(labels),
      duration: this.duration.labels(labels),
      code: (code) => {
        let c = codes.get(code);
        if (!c) codes.set(code, (c = this.calls.labels({ ...labels, code: statusName(code) })));
        return c;
      },
      counted: (serialize) => {
        let w = serializers.get(serialize);
        if (!w) {
          w = (value) => {
            const bytes = serialize(value);
            sent.inc(bytes.length);
            return bytes;
          };
          serializers.set(serialize, w);
        }
        return w;
      },
      read: (deserialize) => {
        let w = deserializers.get(deserialize);
        if (!w) {
          w = (bytes) => {
            received.inc(bytes.length);
            return deserialize(bytes);
          };
          deserializers.set(deserialize, w);
        }
        return w;
      },
    };
  }
}

interface PathMetrics {
  inFlight: Gauge.Internal<CallLabel>;
  streams: Gauge.Internal<CallLabel>;
  duration: Histogram.Internal<CallLabel>;
  code(code: number): Counter.Internal;
  /** The call's serializer, counting the bytes it makes. */
  counted(serialize: Call['serialize']): Call['serialize'];
  /** The call's deserializer, counting the bytes it reads. */
  read(deserialize: Call['deserialize']): Call['deserialize'];
}
