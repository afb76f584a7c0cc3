import { authprovider } from '../gen/contracts/authprovider.js';

/**
 * The AuthProvider driver type (Reva's auth provider): Authenticate with a client id and
 * secret gives the user and its scopes. Its handshake is the `(driverkit.driver)` option in
 * proto/driverkit/authprovider/v1/authprovider.proto; `npm run gen` writes the contract.
 */
export { authprovider };

/** The type of the `authprovider` contract, for typed clients and handlers. */
export type AuthProviderContract = typeof authprovider;
