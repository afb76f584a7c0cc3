// driverkit/build: a driver's source folder into an executable, cached by its inputs.
export { buildDriver, type BuildRequest, type BuildResult } from './build.js';
