import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { codec, methodPath } from '../contracts/contract.js';
import { HEALTH_SERVICE_NAME, internalServices } from '../contracts/internal.js';
import { HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';
import type { StdioData } from '../gen/plugin/grpc_stdio.js';
import { CONNECTION_WINDOW_BYTES, MESSAGE_LIMIT_OPTIONS } from '../protocol/limits.js';
import { Status } from '../status.js';
import type { BrokerTls } from '../rpc/broker.js';
import { createClient } from '../rpc/client.js';
import { grpcInvoke } from './invoke.js';

/** grpc-js's target for a handshake's (or a brokered ConnInfo's) network and address. */
export function grpcTarget(h: { network: string; address: string }): string {
  return h.network === 'unix' ? `unix:${h.address}` : h.address;
}

/**
 * grpc-js channel options for every connection to a driver: the message limit, and a
 * larger HTTP/2 window (grpc-js uses the one figure for the stream and the connection), so
 * a large reply does not wait for a WINDOW_UPDATE every 64 KiB (bench row "changes").
 * Turning off retries and channelz was measured too and bought nothing, so they keep
 * grpc-js's defaults.
 */
export const CHANNEL_OPTIONS = {
  ...MESSAGE_LIMIT_OPTIONS,
  'grpc-node.flow_control_window': CONNECTION_WINDOW_BYTES,
} as const;

/**
 * Opens one channel to a driver (its handshake address, or a service it offered over the
 * broker). Under AutoMTLS `tls` holds our identity and the one peer certificate we trust.
 */
export function openChannel(h: { network: string; address: string }, tls?: BrokerTls): Client {
  const creds = tls
    ? credentials.createSsl(
        Buffer.from(tls.peerCertPem),
        Buffer.from(tls.keyPem),
        Buffer.from(tls.certPem),
      )
    : credentials.createInsecure();
  return new Client(grpcTarget(h), creds, {
    // One peer, one connection: never spread calls over extra subchannels.
    'grpc.use_local_subchannel_pool': 1,
    ...CHANNEL_OPTIONS,
    // go-plugin certificates name "localhost", whatever the address.
    ...(tls
      ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' }
      : {}),
  });
}

/** Checks health service `plugin` is SERVING, as go-plugin hosts do before anything else. */
export async function checkHealth(channel: Client, deadline: Date): Promise<void> {
  const health = createClient(internalServices.health, grpcInvoke(channel));
  const res = await health.check({ service: HEALTH_SERVICE_NAME }, { deadline });
  if (res.status !== HealthCheckResponse_ServingStatus.SERVING) {
    throw new Error(
      `health of service "${HEALTH_SERVICE_NAME}" is ${HealthCheckResponse_ServingStatus[res.status] ?? res.status}, expected SERVING`,
    );
  }
}

/** Asks the driver to exit (go-plugin's GRPCController.Shutdown). Resolves either way. */
export function requestShutdown(channel: Client, deadline: Date): Promise<void> {
  const controller = createClient(internalServices.controller, grpcInvoke(channel));
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
  client: Client,
  onData: (d: StdioData) => void,
  onError: (err: ServiceError) => void,
): () => void {
  const { streamStdio: method } = internalServices.stdio.methods;
  const path = methodPath(internalServices.stdio, method);
  const req = codec(method.requestType);
  const res = codec(method.responseType);
  const call = client.makeServerStreamRequest(path, req.serialize, res.deserialize, {});
  let stopped = false;
  call.on('data', onData);
  call.on('error', (err: ServiceError) => {
    if (!stopped && err.code !== Status.UNIMPLEMENTED && err.code !== Status.CANCELLED)
      onError(err);
  });
  return () => {
    stopped = true;
    call.cancel();
  };
}
