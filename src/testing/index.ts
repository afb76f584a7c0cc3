// driverkit/testing: conformance suites a driver author runs against a driver of any
// language (also as `driverkit conformance`), and the runner to write one for a new type.
export { runSuite, type CaseResult, type ConformanceCase, type ConformanceSuite } from './suite.js';
export { check, ConformanceFailure } from './check.js';
export { userproviderSuite } from './userprovider.js';
export { authproviderSuite } from './authprovider.js';
export { suites } from './suites.js';
