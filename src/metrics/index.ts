// `driverkit/metrics`: Prometheus metrics of calls and drivers, with prom-client. Loaded only
// by hosts that ask for metrics: prom-client costs a cold start tens of milliseconds.
export { CallMetrics, LATENCY_BUCKETS, type MetricsOptions } from './metrics.js';
export {
  HostMetrics,
  type DriverSample,
  type PrepareKind,
  type RejectionReason,
} from './host-metrics.js';
