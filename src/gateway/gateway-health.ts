// What the gateway says of itself: grpc.health.v1 for its drivers, and DriverInfo when it
// stands for one driver type.
import { methodPath } from '../contracts/contract.js';
import { internalServices } from '../contracts/internal.js';
import { HealthCheckResponse_ServingStatus as Serving } from '../gen/grpc/health/v1/health.js';
import { Status } from '../status.js';
import type { GrpcServer } from '../transport/server.js';
import { VERSION } from '../version.js';
import type { GatewayDrivers } from './gateway.js';

/** The routes health reads: which instances there are, which are essential, which is ready. */
export interface HealthRoutes {
  ready(name: string): boolean;
  essential(): readonly string[];
  byService(service: string): readonly string[] | undefined;
  isInstance(name: string): boolean;
}

/**
 * grpc.health.v1: "" (and "plugin", what a driverkit or go-plugin host checks: this
 * gateway, dialed as a service) is SERVING while every essential driver is ready; a service
 * name while its default instance is; an instance name while it is; all NOT_SERVING once
 * draining (see `ready`).
 */
export function serveGatewayHealth(server: GrpcServer, routes: HealthRoutes): void {
  const service = internalServices.health;
  const { check, watch } = service.methods;
  server.unary(
    methodPath(service, check),
    { request: check.requestType, response: check.responseType },
    ({ service: name }, _call, done) => {
      let up: boolean | undefined;
      const list = routes.byService(name);
      if (name === '' || name === 'plugin') up = routes.essential().every(routes.ready);
      else if (list) up = list.length > 0 && routes.ready(list[0]);
      else if (routes.isInstance(name)) up = routes.ready(name);
      if (up === undefined)
        return done({
          code: Status.NOT_FOUND,
          details: `unknown service or driver ${JSON.stringify(name)}`,
        });
      done(null, { status: up ? Serving.SERVING : Serving.NOT_SERVING });
    },
  );
  server.stream(methodPath(service, watch), watch.requestType, {
    open: (call) => call.end(Status.UNIMPLEMENTED, 'Watch is not implemented'),
  });
}

/**
 * DriverInfo, when every instance is of one type: then a gateway in front of a driver (a
 * go-plugin one, say) is itself that driver as a service, and hosts can dial it by address.
 * It reports the version its default instance negotiated.
 */
export function serveGatewayInfo(server: GrpcServer, drivers: GatewayDrivers): void {
  const instances = drivers.instances();
  const types = new Set(instances.map((d) => d.type));
  const first = instances[0];
  if (types.size !== 1 || !first?.type) return;
  const fullName = (v: number) =>
    first.services[first.versions?.indexOf(v) ?? -1]?.fullName ?? first.services[0].fullName;
  const service = internalServices.info;
  const { getInfo } = service.methods;
  server.unary(
    methodPath(service, getInfo),
    { request: getInfo.requestType, response: getInfo.responseType },
    (_request, _call, done) => {
      const now = drivers.versionOf?.(first.name);
      // Until its driver has negotiated, the version is not known: a host asks again.
      if (now === undefined)
        return done({
          code: Status.UNAVAILABLE,
          details: `driver "${first.name}" is not running yet`,
        });
      done(null, {
        type: first.type,
        versions: [{ version: now, service: fullName(now) }],
        name: 'driverkit serve',
        buildVersion: VERSION,
      });
    },
  );
}
