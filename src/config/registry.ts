import type { Contract } from '../contracts/contract.js';
import { authprovider } from '../contracts/authprovider.js';
import { userprovider } from '../contracts/userprovider.js';

/** Every driver type driverkit knows, by the `type` name used in config. */
export const contracts: Readonly<Record<string, Contract>> = {
  [userprovider.type]: userprovider,
  [authprovider.type]: authprovider,
};

/** Where each built-in type's proto is, below the package's proto/ folder (for strict proto3 JSON). */
export const builtinProtos: Readonly<Record<string, string>> = {
  [userprovider.type]: 'driverkit/userprovider/v1/userprovider.proto',
  [authprovider.type]: 'driverkit/authprovider/v1/authprovider.proto',
};
