import type { ServiceDefinition } from '@grpc/grpc-js';
import { codec, methodPath, type ServiceDef } from '../../src/contracts/contract.js';

/** The grpc-js form of a generated service (paths, codecs, streaming flags), for clients and servers alike. */
export function grpcDefinition(service: ServiceDef): ServiceDefinition {
  const def: Record<string, ServiceDefinition[string]> = {};
  for (const [key, m] of Object.entries(service.methods)) {
    const req = codec(m.requestType);
    const res = codec(m.responseType);
    def[key] = {
      path: methodPath(service, m),
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
      originalName: key,
    };
  }
  return def;
}
