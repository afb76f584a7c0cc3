import { userprovider } from '../gen/contracts/userprovider.js';

/**
 * The UserProvider driver type. Its handshake is the `(driverkit.driver)` option in
 * proto/driverkit/userprovider/v1/userprovider.proto; `npm run gen` writes the contract.
 */
export { userprovider };

/** The type of the `userprovider` contract, for typed clients and handlers. */
export type UserProviderContract = typeof userprovider;
