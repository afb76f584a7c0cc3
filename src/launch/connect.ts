import { HEALTH_SERVICE_NAME, internalServices } from '../contracts/internal.js';
import type { GetInfoResponse } from '../gen/driverkit/info/v1/info.js';
import { HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';
import type { StdioData } from '../gen/plugin/grpc_stdio.js';
import type { CallError } from '../rpc/call.js';
import { createClient, type Invoke } from '../rpc/client.js';
import { Status } from '../status.js';

/** Checks health service `plugin` is SERVING, as go-plugin hosts do before anything else. */
export async function checkHealth(invoke: Invoke, deadline: Date): Promise<void> {
  const health = createClient(internalServices.health, invoke);
  const res = await health.check({ service: HEALTH_SERVICE_NAME }, { deadline });
  if (res.status !== HealthCheckResponse_ServingStatus.SERVING) {
    throw new Error(
      `health of service "${HEALTH_SERVICE_NAME}" is ${HealthCheckResponse_ServingStatus[res.status] ?? res.status}, expected SERVING`,
    );
  }
}

/**
 * Whether the driver's backend serves: its health for `""` (an SDK driver's `setServing`;
 * grpc-go's health server says SERVING). Undefined when it gave no answer: not a verdict.
 */
export async function backendServing(invoke: Invoke, deadline: Date): Promise<boolean | undefined> {
  const health = createClient(internalServices.health, invoke);
  try {
    const res = await health.check({ service: '' }, { deadline });
    return res.status === HealthCheckResponse_ServingStatus.SERVING;
  } catch {
    return undefined;
  }
}

/** DriverInfo.GetInfo; undefined when the driver has no such service (UNIMPLEMENTED). */
export async function askInfo(
  invoke: Invoke,
  deadline: Date,
): Promise<GetInfoResponse | undefined> {
  const info = createClient(internalServices.info, invoke);
  try {
    return await info.getInfo({}, { deadline });
  } catch (err) {
    if ((err as CallError).code === Status.UNIMPLEMENTED) return undefined;
    throw err;
  }
}

/** Asks the driver to exit (go-plugin's GRPCController.Shutdown). Resolves either way. */
export function requestShutdown(invoke: Invoke, deadline: Date): Promise<void> {
  const controller = createClient(internalServices.controller, invoke);
  // A Go driver stops its server before answering: UNAVAILABLE is the usual success.
  return controller.shutdown({}, { deadline }).then(
    () => {},
    () => {},
  );
}

/**
 * Calls GRPCStdio.StreamStdio and hands each chunk to `onData`. go-plugin 1.0 drivers do not
 * have it (UNIMPLEMENTED): that is normal and stays quiet. Returns a function that stops it.
 */
export function streamStdio(
  invoke: Invoke,
  onData: (d: StdioData) => void,
  onError: (err: CallError) => void,
): () => void {
  const stdio = createClient(internalServices.stdio, invoke);
  const stop = new AbortController();
  void (async () => {
    try {
      for await (const d of stdio.streamStdio({}, { signal: stop.signal })) onData(d);
    } catch (err) {
      const { code } = err as CallError;
      if (!stop.signal.aborted && code !== Status.UNIMPLEMENTED && code !== Status.CANCELLED)
        onError(err as CallError);
    }
  })();
  return () => stop.abort();
}
