// driverkit/gateway: every driver of a host served on one gRPC address.
export { startGateway, ROUTE_HEADER, type Gateway, type GatewayDrivers } from './gateway.js';
export type { GatewaySecurity } from './security.js';
