import { methodPath } from '../contracts/contract.js';
import { HEALTH_SERVICE_NAME, internalServices } from '../contracts/internal.js';
import type { GetInfoResponse } from '../gen/driverkit/info/v1/info.js';
import { HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';
import { ConnInfo } from '../gen/plugin/grpc_broker.js';
import { StdioData } from '../gen/plugin/grpc_stdio.js';
import { Status } from '../status.js';
import type { GrpcServer } from '../transport/server.js';
import type { StdoutCapture } from './stdout.js';

/**
 * grpc.health.v1: `plugin` (what go-plugin hosts check), the empty name and the served
 * services are SERVING. The returned function sets them: `(false)` all NOT_SERVING (a
 * service draining); `(false, 'backend')` all but `plugin`, which says the process is
 * alive (go-plugin hosts take NOT_SERVING there for a dead plugin).
 */
export function serveHealth(
  server: GrpcServer,
  servedNames: readonly string[],
): (serving: boolean, scope?: 'all' | 'backend') => void {
  const service = internalServices.health;
  const names = new Set(['', HEALTH_SERVICE_NAME, ...servedNames]);
  const { SERVING, NOT_SERVING } = HealthCheckResponse_ServingStatus;
  let alive = SERVING;
  let backend = SERVING;
  const { check, watch } = service.methods;
  server.unary(
    methodPath(service, check),
    { request: check.requestType, response: check.responseType },
    (request, _call, done) => {
      if (!names.has(request.service))
        return done({
          code: Status.NOT_FOUND,
          details: `unknown service ${JSON.stringify(request.service)}`,
        });
      const up =
        alive === SERVING && (request.service === HEALTH_SERVICE_NAME || backend === SERVING);
      done(null, { status: up ? SERVING : NOT_SERVING });
    },
  );
  server.stream(methodPath(service, watch), watch.requestType, {
    open: (call) => call.end(Status.UNIMPLEMENTED, 'Watch is not implemented'),
  });
  return (serving, scope = 'all') => {
    if (scope === 'backend') backend = serving ? SERVING : NOT_SERVING;
    else alive = serving ? SERVING : NOT_SERVING;
  };
}

/** driverkit's DriverInfo: what this driver is, for a host that read no handshake line. */
export function serveInfo(server: GrpcServer, info: GetInfoResponse): void {
  const service = internalServices.info;
  const { getInfo } = service.methods;
  server.unary(
    methodPath(service, getInfo),
    { request: getInfo.requestType, response: getInfo.responseType },
    (_request, _call, done) => done(null, info),
  );
}

/** go-plugin's GRPCController: Shutdown answers, then the driver exits 0. */
export function serveController(server: GrpcServer, onShutdown: () => void): void {
  const { shutdown } = internalServices.controller.methods;
  server.unary(
    methodPath(internalServices.controller, shutdown),
    { request: shutdown.requestType, response: shutdown.responseType },
    (_request, call, done) => {
      done(null, {});
      // Exiting tears the connection down: wait until the answer has left.
      call.onClosed(onShutdown);
    },
  );
}

/** go-plugin's GRPCStdio: the driver's stdout after the handshake, streamed to the host. */
export function serveStdio(server: GrpcServer, capture: StdoutCapture): void {
  const { streamStdio } = internalServices.stdio.methods;
  server.stream(methodPath(internalServices.stdio, streamStdio), streamStdio.requestType, {
    open: (call) => {
      // One receiver: a second caller must not take the driver's stdout from the host.
      if (capture.attached)
        return call.end(
          Status.ALREADY_EXISTS,
          "another StreamStdio call already receives this driver's stdout",
        );
      call.onCancel(capture.attach((d) => call.send(StdioData.encode(d).finish())));
    },
  });
}

/**
 * go-plugin's GRPCBroker: the host opens StartStream (Go hosts right after connecting);
 * ConnInfos from it go to `receive`, and `attach` gets the way to send ours, both with
 * the connection it came on (each host has its own broker).
 */
export function serveBroker(
  server: GrpcServer,
  receive: (connection: object, info: ConnInfo) => void,
  attach: (connection: object, send: ((info: ConnInfo) => void) | undefined) => void,
): void {
  const { startStream } = internalServices.broker.methods;
  const peers = new WeakMap<object, object>();
  server.stream(methodPath(internalServices.broker, startStream), startStream.requestType, {
    open: (call) => {
      // The session is gone from the stream by the time it closes: keep it from the start.
      const peer = call.peer;
      peers.set(call, peer);
      attach(peer, (out) => call.write(ConnInfo.encode(out).finish()));
      call.onCancel(() => attach(peer, undefined));
    },
    message: (call, info) => receive(peers.get(call) ?? call.peer, info),
    end: (call) => {
      attach(peers.get(call) ?? call.peer, undefined);
      call.end(Status.OK);
    },
  });
}
