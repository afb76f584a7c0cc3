// The host API: what `import ... from 'driverkit'` gives.
export { openHost, DriverHost, type HostOptions } from './host.js';
export { startDriver, launchDriver, Driver } from './driver.js';
export type { SupervisorStatus, Supervisor } from './supervisor.js';
export { startGateway, ROUTE_HEADER, type Gateway } from '../gateway/gateway.js';
export type { Broker } from '../contracts/broker.js';
export { AuditLogDefinition } from '../gen/driverkit/audit/v1/audit.js';
export type { ReattachInfo } from '../protocol/reattach.js';
export type { DriverOptions, DriverExit, LatestClient } from './options.js';
export type { CallOptions, PromiseClient } from '../contracts/call.js';
export { consoleLogger, type Logger } from './logger.js';
export { DriverkitError, RpcError, type ErrorCode } from '../errors.js';
export { Status, type StatusCode, type StatusName } from '../status.js';
export { userprovider, type UserProviderContract } from '../contracts/userprovider.js';
export type { Contract, ServiceDef } from '../contracts/contract.js';
export type { Config, DriverEntry } from '../config/schema.js';
export { loadConfig } from '../config/load.js';
export { buildDriver, type BuildRequest, type BuildResult } from '../build/build.js';
export { VERSION } from '../version.js';
export type { LogLevel, LogFields } from '../protocol/hclog.js';
export type { RequestContext } from '../protocol/context.js';
export type {
  User,
  UserId,
  UserType,
} from '../gen/driverkit/userprovider/v1/userprovider.js';
