// driverkit/host: drivers from a config file, started on first use, restarted by policy,
// built from source when the config points at a folder.
export { openHost, DriverHost, type HostOptions } from './host.js';
export type { SupervisorStatus, SupervisedState } from './supervisor.js';
export type { ReloadReport } from './reload.js';
export { watchHost, type HostWatch, type WatchOptions } from './watch.js';
export { loadConfig } from '../config/load.js';
export type { Config, DriverEntry } from '../config/schema.js';
export type { RestartPolicy } from '../config/restart.js';
