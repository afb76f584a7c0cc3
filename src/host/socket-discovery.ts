// Finding drivers in socket_dir: each trusted NAME.sock that answers DriverInfo of a known
// type becomes driver NAME of the host's config, and is forgotten when its socket goes.
import { type FSWatcher, watch } from 'node:fs';
import { driverTables } from '../config/keys.js';
import type { Config } from '../config/schema.js';
import { DriverkitError } from '../errors.js';
import type { Logger } from '../launch/logger.js';
import { folderRefusal, socketsIn, typesAt } from './socket-folder.js';

/** How long a socket of socket_dir has to answer DriverInfo; one silent is asked again after SOCKET_RETRY_MS. */
const SOCKET_PROBE_MS = 1500;
const SOCKET_RETRY_MS = 5000;

/** What discovery needs of its host. */
export interface DiscoveryHost {
  config: Config;
  logger: Logger;
  /** Whether the host is closed: nothing more is found then. */
  closed: () => boolean;
  /** Closes and forgets a found driver whose socket is gone. */
  remove: (name: string) => Promise<void>;
  /** Drivers were found or forgotten. */
  changed: () => void;
}

export class SocketDiscovery {
  /** Drivers found in `socket_dir`, by name. */
  readonly found = new Set<string>();
  /** Sockets left alone (another user's, no DriverInfo), by path: their inode then. */
  readonly #skipped = new Map<string, number>();
  #discoveredOnce = false;
  #watcher?: FSWatcher;
  #discovering = Promise.resolve();
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #closed: () => boolean;
  readonly #remove: (name: string) => Promise<void>;
  readonly #changed: () => void;

  constructor(host: DiscoveryHost) {
    this.#config = host.config;
    this.#logger = host.logger;
    this.#closed = host.closed;
    this.#remove = host.remove;
    this.#changed = host.changed;
  }

  /** Looks in the folder now; runs one at a time (see DriverHost.discover). */
  discover(): Promise<void> {
    const run = this.#discovering.then(() => this.#discover());
    this.#discovering = run.catch(() => {});
    return run;
  }

  /** Watches the folder for sockets added and removed (discover() on each change). */
  watch(): void {
    const dir = this.#config.socketDir;
    if (!dir || this.#watcher) return;
    let timer: NodeJS.Timeout | undefined;
    this.#watcher = watch(dir, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.discover(), 50);
      timer.unref();
    });
    this.#watcher.unref();
  }

  close(): void {
    this.#watcher?.close();
  }

  async #discover(): Promise<void> {
    const dir = this.#config.socketDir;
    if (!dir || this.#closed()) return;
    const refusal = await folderRefusal(dir, this.#config.socketOwner);
    if (refusal) {
      // At start, serve fails clearly; later (a chmod), nothing more is found or forgotten.
      if (!this.#discoveredOnce)
        throw new DriverkitError(
          'CONFIG_INVALID',
          `${this.#config.file}: socket_dir: refused: ${refusal}; make it mode 0700 (or 0755), owned by the user driverkit runs as (or set socket_owner to the sidecars' uid)`,
        );
      this.#logger.log('error', 'socket folder refused; nothing is found or forgotten there', {
        folder: dir,
        error: refusal,
      });
      return;
    }
    this.#discoveredOnce = true;
    const { sockets: present, strangers } = await socketsIn(dir, this.#config.socketOwner);
    const skip = (s: { path: string; ino: number }) => this.#skipped.set(s.path, s.ino);
    for (const s of strangers) {
      if (this.#skipped.get(s.path) === s.ino) continue;
      skip(s);
      this.#logger.log('warn', 'socket refused: made by another user', {
        socket: s.path,
        uid: s.uid,
      });
    }
    const fresh = present.filter(
      (s) =>
        !this.found.has(s.name) &&
        this.#skipped.get(s.path) !== s.ino &&
        !this.#config.drivers.some((d) => d.name === s.name),
    );
    let changed = false;
    let silent = false;
    // Asked at once (a few dozen at a time): silent sockets cost one timeout, not one each.
    // One that answers without a known type is left alone until its socket changes; one that
    // does not answer is asked again later (a sidecar still starting).
    await typesAt(fresh, SOCKET_PROBE_MS, (s, type) => {
      if (this.#closed() || this.#config.drivers.some((d) => d.name === s.name)) return;
      if (type === undefined) {
        silent = true;
        return;
      }
      const parsed = type
        ? driverTables(
            { [s.name]: { type, address: `unix://${s.path}` } },
            { dir: this.#config.dir, contracts: this.#config.contracts },
          )
        : undefined;
      if (!parsed?.ok) {
        skip(s);
        this.#logger.log('warn', 'socket skipped: no DriverInfo of a known type', {
          socket: s.path,
          type: type ?? '(none)',
        });
        return;
      }
      this.#config.drivers.push(parsed.value[0]);
      this.found.add(s.name);
      changed = true;
      this.#logger.log('info', 'driver found', { driver: s.name, socket: s.path, type });
    });
    if (silent && this.#watcher)
      setTimeout(() => void this.discover().catch(() => {}), SOCKET_RETRY_MS).unref();
    const names = new Set(present.map((s) => s.name));
    for (const name of [...this.found]) {
      if (names.has(name)) continue;
      await this.#remove(name);
      changed = true;
      this.#logger.log('info', 'driver gone: its socket was removed', { driver: name });
    }
    if (changed) this.#changed();
  }
}
