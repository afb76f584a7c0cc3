import { DriverInfoDefinition } from '../gen/driverkit/info/v1/info.js';
import { HealthDefinition } from '../gen/grpc/health/v1/health.js';
import { GRPCBrokerDefinition } from '../gen/plugin/grpc_broker.js';
import { GRPCControllerDefinition } from '../gen/plugin/grpc_controller.js';
import { GRPCStdioDefinition } from '../gen/plugin/grpc_stdio.js';

/** go-plugin's services that every driver serves besides its own, and driverkit's DriverInfo. */
export const internalServices = {
  health: HealthDefinition,
  controller: GRPCControllerDefinition,
  stdio: GRPCStdioDefinition,
  broker: GRPCBrokerDefinition,
  info: DriverInfoDefinition,
} as const;

/** The health service name go-plugin hosts check. */
export const HEALTH_SERVICE_NAME = 'plugin';
