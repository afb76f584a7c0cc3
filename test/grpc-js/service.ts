// The typed-handler runner on grpc-js's server: the reference the SDK's own server is held
// to in test/interop.test.ts (a case that passes here and fails there is the SDK's bug).
// Before the one transport, the host served brokered services this way.
import type { EventEmitter } from 'node:events';
import {
  Metadata,
  type sendUnaryData,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { ServiceDef } from '../../src/contracts/contract.js';
import { grpcDefinition } from './definition.js';
import type { Broker } from '../../src/rpc/broker.js';
import {
  bindHandlers,
  type CallSink,
  type CallSource,
  type DriverLogger,
} from '../../src/rpc/handlers.js';

function metadataRecord(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap()))
    out[k] = typeof v === 'string' ? v : v.toString('base64');
  return out;
}

/** A grpc-js call of any kind, as far as the handler runner needs it. */
type GrpcCall = EventEmitter & {
  cancelled: boolean;
  metadata: Metadata;
  request?: unknown;
  sendMetadata(md: Metadata): void;
  write?(v: unknown): boolean;
  end?(trailers?: Metadata): void;
  iterator(o: { destroyOnReturn: boolean }): AsyncIterable<unknown>;
};

/**
 * Turns typed handlers into a grpc-js service: the host serves brokered services with
 * grpc-js. test/interop.test.ts serves the interop handlers with it too, to hold the
 * driver's own server to grpc-js's answers.
 */
export function toGrpcService(
  service: ServiceDef,
  handlers: Record<string, (req: any, ctx: any) => unknown>,
  log: DriverLogger,
  broker: Broker,
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const definition = grpcDefinition(service);
  const implementation: UntypedServiceImplementation = {};
  for (const { key, method, run } of bindHandlers(service, handlers, log, broker)) {
    implementation[key] = (call: GrpcCall, callback?: sendUnaryData<unknown>) => {
      // What the handler set with ctx.setHeader/setTrailer, made on first use (most set
      // neither). grpc-js would send empty headers with the first message, so ours go just
      // before the first response or the status, as the driver's own server sends them.
      let headers: Metadata | undefined;
      let trailers: Metadata | undefined;
      let headersOut = false;
      const flushHeaders = () => {
        headersOut = true;
        if (headers) call.sendMetadata(headers);
      };
      const source: CallSource = {
        get cancelled() {
          return call.cancelled;
        },
        onCancel: (listener) => call.once('cancelled', listener),
        metadata: () => metadataRecord(call.metadata),
        setHeader: (k, v) => !headersOut && ((headers ??= new Metadata()).set(k, v), true),
        setTrailer: (k, v) => (trailers ??= new Metadata()).set(k, v),
      };
      const sink: CallSink = {
        // grpc-js's writable side says when to wait, as node streams do.
        send: async (value) => {
          if (!headersOut) flushHeaders();
          if (!call.write!(value))
            await new Promise(
              (resolve) => (call.once('drain', resolve), call.once('cancelled', resolve)),
            );
        },
        done: (err, value) => {
          if (!headersOut) flushHeaders();
          if (callback)
            return err ? callback({ ...err, metadata: trailers }) : callback(null, value, trailers);
          if (err) call.emit('error', { ...err, metadata: trailers });
          else call.end!(trailers);
        },
      };
      // A client or bidi stream's call is itself the readable of requests; reading them to
      // the end must not destroy it, since a bidi call still writes its responses.
      run(
        method.requestStream ? call.iterator({ destroyOnReturn: false }) : call.request,
        source,
        sink,
      );
    };
  }
  return { definition, implementation };
}
