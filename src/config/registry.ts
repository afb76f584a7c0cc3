import type { Contract } from '../contracts/contract.js';
import { userprovider } from '../contracts/userprovider.js';

/** Every driver type driverkit knows, by the `type` name used in config. */
export const contracts: Readonly<Record<string, Contract>> = {
  [userprovider.type]: userprovider,
};
