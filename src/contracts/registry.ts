import type { Contract } from './contract.js';
import { userprovider } from './userprovider.js';

/** Every driver type driverkit knows, by the `type` name used in config. */
export const contracts: Readonly<Record<string, Contract>> = {
  [userprovider.type]: userprovider,
};
