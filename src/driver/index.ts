// The driver SDK: what a driver author imports as `driverkit/driver`. Keep this entry lean:
// every import here is paid for at each driver's cold start.
export { serve, type ServeOptions, type VersionedHandlers } from './serve.js';
export type { ServingDriver } from './serving.js';
export { SERVICE_ENV, type ServiceOptions } from './service-options.js';
export type { CallContext, Handlers } from '../rpc/handlers.js';
export { createLogger, type DriverLogger, type LoggerOptions } from './log.js';
export { RpcError, DriverkitError } from '../errors.js';
export { Status } from '../status.js';
export { userprovider } from '../contracts/userprovider.js';
export { authprovider } from '../contracts/authprovider.js';
export type { Scope } from '../gen/driverkit/authprovider/v1/authprovider.js';
export type { Contract, ServiceDef } from '../contracts/contract.js';
export type { Broker } from '../rpc/broker.js';
export type { CallOptions, PromiseClient } from '../rpc/call.js';
export { AuditLogDefinition } from '../gen/driverkit/audit/v1/audit.js';
export type { RequestContext } from '../protocol/context.js';
export type {
  User,
  UserId,
  UserType,
} from '../gen/driverkit/userprovider/v1/userprovider.js';
