import { UserProviderDefinition } from '../gen/driverkit/userprovider/v1/userprovider.js';
import type { Contract } from './contract.js';

/**
 * The UserProvider driver type. These values are copied into the comment at the top of
 * proto/driverkit/userprovider/v1/userprovider.proto for authors of Go drivers.
 */
export const userprovider = {
  type: 'userprovider',
  cookieKey: 'DRIVERKIT_USERPROVIDER',
  cookieValue: '7d2f1c6e-userprovider-v1',
  versions: { 1: UserProviderDefinition },
} as const satisfies Contract;

/** The type of the `userprovider` contract, for typed clients and handlers. */
export type UserProviderContract = typeof userprovider;
