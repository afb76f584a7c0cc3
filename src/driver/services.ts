import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall, ServerWritableStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { grpcDefinition } from '../contracts/contract.js';
import { HEALTH_SERVICE_NAME, internalServices } from '../contracts/internal.js';
import { HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';
import type { StdioData } from '../gen/plugin/grpc_stdio.js';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import { Status } from '../status.js';
import type { StdoutCapture } from './stdout.js';

export interface InternalService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

/** grpc.health.v1: `plugin` (what go-plugin hosts check) and the empty name are SERVING. */
export function healthService(servedNames: readonly string[]): InternalService {
  const serving = new Set(['', HEALTH_SERVICE_NAME, ...servedNames]);
  return {
    definition: grpcDefinition(internalServices.health),
    implementation: {
      check: (call: ServerUnaryCall<{ service: string }, unknown>, cb: sendUnaryData<unknown>) => {
        if (serving.has(call.request.service)) cb(null, { status: HealthCheckResponse_ServingStatus.SERVING });
        else cb({ code: Status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
      },
      watch: (call: ServerWritableStream<unknown, unknown>) => {
        call.emit('error', { code: Status.UNIMPLEMENTED, details: 'Watch is not implemented' });
      },
    },
  };
}

/** go-plugin's GRPCController: Shutdown answers, then the driver exits 0. */
export function controllerService(onShutdown: () => void): InternalService {
  return {
    definition: grpcDefinition(internalServices.controller),
    implementation: {
      shutdown: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
        cb(null, {});
        onShutdown();
      },
    },
  };
}

/** go-plugin's GRPCStdio: the driver's stdout after the handshake, streamed to the host. */
export function stdioService(capture: StdoutCapture): InternalService {
  return {
    definition: grpcDefinition(internalServices.stdio),
    implementation: {
      streamStdio: (call: ServerWritableStream<unknown, StdioData>) => {
        const detach = capture.attach((d) => call.write(d));
        call.on('cancelled', detach);
        call.on('close', detach);
      },
    },
  };
}

/**
 * go-plugin's GRPCBroker: the host opens StartStream (Go hosts right after connecting);
 * ConnInfos from it go to `receive`, and `attach` gets the way to send ours.
 */
export function brokerService(receive: (info: ConnInfo) => void, attach: (send: ((info: ConnInfo) => void) | undefined) => void): InternalService {
  return {
    definition: grpcDefinition(internalServices.broker),
    implementation: {
      startStream: (call: ServerDuplexStream<ConnInfo, ConnInfo>) => {
        attach((info) => call.write(info));
        call.on('data', receive);
        call.on('end', () => {
          attach(undefined);
          call.end();
        });
        call.on('error', () => attach(undefined));
      },
    },
  };
}
