import type { Contract } from '../contracts/contract.js';
import type { ConformanceSuite } from './suite.js';
import { authproviderSuite } from './authprovider.js';
import { userproviderSuite } from './userprovider.js';

/** The suites driverkit ships, by driver type. */
export const suites: Readonly<Record<string, ConformanceSuite<Contract>>> = {
  userprovider: userproviderSuite as unknown as ConformanceSuite<Contract>,
  authprovider: authproviderSuite as unknown as ConformanceSuite<Contract>,
};
