// driverkit/gateway: every driver of a host served on one gRPC address.
export { startGateway, ROUTE_HEADER, type Gateway } from './gateway.js';
