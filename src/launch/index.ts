// The library: what `import ... from 'driverkit'` gives. Start a driver, call it through a
// typed client, use the broker, handle errors. Nothing here loads a bundler, a TOML parser
// or a gateway: those are the application's entries (driverkit/host, /build, /gateway).
export { startDriver, launchDriver, Driver, versioned } from './driver.js';
export { dial } from './dial.js';
export type { Channel, DialOptions, DialTarget } from '../transport/client.js';
export type {
  ClientTlsFiles,
  DriverOptions,
  DriverExit,
  LatestClient,
  Versioned,
} from './options.js';
export type { ReplicaStatus } from './replicas.js';
export type { CallOptions, PromiseClient } from '../rpc/call.js';
export {
  createClient,
  deadlineStep,
  type Interceptor,
  type Invoke,
  type Call,
} from '../rpc/client.js';
export type { Broker } from '../rpc/broker.js';
export type { ReattachInfo } from '../protocol/reattach.js';
export { consoleLogger, jsonLogger, type Logger } from './logger.js';
export { DriverkitError, RpcError, type ErrorCode } from '../errors.js';
export { Status, type StatusCode, type StatusName } from '../status.js';
export { userprovider, type UserProviderContract } from '../contracts/userprovider.js';
export { authprovider, type AuthProviderContract } from '../contracts/authprovider.js';
export type { Contract, ServiceDef } from '../contracts/contract.js';
export { AuditLogDefinition } from '../gen/driverkit/audit/v1/audit.js';
export type { LogLevel, LogFields } from '../protocol/hclog.js';
export type { RequestContext } from '../protocol/context.js';
export type { User, UserId, UserType } from '../gen/driverkit/userprovider/v1/userprovider.js';
export { VERSION } from '../version.js';
