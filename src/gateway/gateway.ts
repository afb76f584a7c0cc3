import { Metadata, Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { methodPath, type ServiceDef } from '../contracts/contract.js';
import { grpcDefinition } from '../host/grpc-definition.js';
import { internalServices } from '../contracts/internal.js';
import { HealthCheckResponse_ServingStatus as Serving } from '../gen/grpc/health/v1/health.js';
import type { Driver } from '../host/driver.js';
import type { DriverHost } from '../supervise/host.js';
import type { Supervisor } from '../supervise/supervisor.js';
import type { DriverkitError } from '../errors.js';
import { MESSAGE_LIMIT_OPTIONS } from '../protocol/limits.js';
import { Status } from '../status.js';

/** The metadata key that picks an instance when several drivers share a type. */
export const ROUTE_HEADER = 'driverkit-driver';

/** A running gateway. */
export interface Gateway {
  /** `HOST:PORT` actually bound (port 0 picks a free one). */
  address: string;
  /** Stops accepting calls, lets running ones finish for up to `graceMs`, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

const identity = (b: Buffer) => b;

/**
 * Serves every driver of a host on one gRPC address, relaying each call, still encoded, to
 * a driver: the one named by the `driverkit-driver` metadata header, else the first
 * instance of the service's type in the config. Health: "" is SERVING while every driver
 * is ready; a service name while its default instance is; an instance name while it is.
 */
export async function startGateway(host: DriverHost, listen: string): Promise<Gateway> {
  const server = new Server(MESSAGE_LIMIT_OPTIONS);
  const byName = new Map(host.config.drivers.map((d) => [d.name, host.supervisor(d.name)]));
  const servicesSeen = new Map<string, Supervisor[]>();
  for (const entry of host.config.drivers) {
    const driver = byName.get(entry.name)!;
    for (const service of Object.values(entry.contract.versions)) {
      const list = servicesSeen.get(service.fullName) ?? [];
      if (list.length === 0) server.addService(relayDefinition(service), relayImplementation(service, list, byName));
      list.push(driver);
      servicesSeen.set(service.fullName, list);
    }
  }
  const supervisors = [...byName.values()];
  server.addService(grpcDefinition(internalServices.health) as ServiceDefinition, {
    check: (call: ServerUnaryCall<{ service: string }, unknown>, cb: sendUnaryData<unknown>) => {
      const name = call.request.service;
      const ready = (d: Supervisor | undefined) => d?.status.state === 'ready';
      let up: boolean | undefined;
      if (name === '') up = supervisors.every(ready);
      else if (servicesSeen.has(name)) up = ready(servicesSeen.get(name)![0]);
      else if (byName.has(name)) up = ready(byName.get(name));
      if (up === undefined) cb({ code: Status.NOT_FOUND, details: `unknown service or driver ${JSON.stringify(name)}` });
      else cb(null, { status: up ? Serving.SERVING : Serving.NOT_SERVING });
    },
    watch: (call: { emit(e: string, v: unknown): void }) => call.emit('error', { code: Status.UNIMPLEMENTED, details: 'Watch is not implemented' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, ServerCredentials.createInsecure(), (err, p) => (err ? reject(new Error(`cannot listen on ${listen}: ${err.message}`)) : resolve(p))),
  );
  return {
    address: `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`,
    close: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function relayDefinition(service: ServiceDef): ServiceDefinition {
  const def: Record<string, ServiceDefinition[string]> = {};
  for (const [key, m] of Object.entries(grpcDefinition(service))) {
    def[key] = { ...m, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
  }
  return def;
}

function relayImplementation(service: ServiceDef, instances: Supervisor[], byName: Map<string, Supervisor>): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(service.methods)) {
    const path = methodPath(service, method);
    impl[key] = (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      const wanted = call.metadata.get(ROUTE_HEADER)[0]?.toString();
      const supervisor = wanted === undefined ? instances[0] : byName.get(wanted);
      if (!supervisor || !instances.includes(supervisor)) {
        cb({ code: Status.INVALID_ARGUMENT, details: `${ROUTE_HEADER}: no ${service.name} driver named ${JSON.stringify(wanted)} (known: ${instances.map((d) => d.entry.name).join(', ')})` });
        return;
      }
      const md = new Metadata();
      for (const [k, v] of Object.entries(call.metadata.getMap())) if (k !== ROUTE_HEADER && k !== 'user-agent') md.set(k, v);
      const deadline = Number(call.getDeadline());
      const options = Number.isFinite(deadline) ? { deadline } : {};
      // Fast path: a ready driver. Otherwise wait (up to the call's deadline) through a restart.
      const ready = supervisor.current;
      const relay = (driver: Driver) => {
        const upstream = driver.forward(path, call.request, md, options, (err, reply) => cb(err, reply));
        call.once('cancelled', () => upstream.cancel());
      };
      if (ready) return relay(ready);
      supervisor.get(Number.isFinite(deadline) ? deadline : Date.now() + (supervisor.entry.callTimeout ?? 30_000)).then(relay, (err: DriverkitError) =>
        cb({ code: err.code === 'DRIVER_NOT_READY' ? Status.DEADLINE_EXCEEDED : Status.UNAVAILABLE, details: err.shortMessage }),
      );
    };
  }
  return impl;
}
