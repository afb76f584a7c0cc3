// The development loop of `driverkit serve --watch`: a source driver whose inputs changed is
// rebuilt and swapped in beside the running one, and a changed config file is reloaded.
// One job at a time; a newer change to the same driver cancels the job still building it.
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import type { Logger } from '../launch/logger.js';
import type { DriverHost } from './host.js';
import type { ReloadReport } from './reload.js';

/** How long a burst of file events (an editor's save) is gathered before a rebuild. */
const DEBOUNCE_MS = 100;
/** A folder that never goes quiet (a log written into it) still rebuilds this often. */
const MAX_WAIT_MS = 1000;

/** What to do when watched files change. */
export interface WatchOptions {
  logger: Logger;
  /** Called when the config file changed: loads it and reloads the host (default: nothing). */
  reloadConfig?: () => Promise<ReloadReport | undefined>;
  /** Hears each swap that finished, and each that failed (`error` set). */
  onSwap?: (driver: string, error?: unknown) => void;
}

/** A running watch; `close()` stops it and cancels the job in progress. */
export interface HostWatch {
  /** Settles once every folder is watched: an edit from then on is seen. */
  ready: Promise<void>;
  /** Watches the drivers of the host's config as it is now (after a reload from elsewhere). */
  refresh(): Promise<void>;
  close(): void;
}

type Target = { driver: string } | { config: true };
const CONFIG = '\0config';
const keyOf = (t: Target) => ('config' in t ? CONFIG : t.driver);

/** Watches every source driver's build inputs and the config file of `host`. */
export function watchHost(host: DriverHost, options: WatchOptions): HostWatch {
  const watchers = new Map<string, FSWatcher>();
  const pending = new Map<string, Target>();
  let running: { key: string; abort: AbortController } | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let waitingSince: number | undefined;
  /** Jobs cancelled by a newer change: their retry swaps even if the build is then fresh. */
  const force = new Set<string>();
  /** What each watched folder's events may mean: a file name to the drivers it feeds. */
  let interest = new Map<string, Map<string, Set<string>>>();

  const changed = (target: Target) => {
    if (closed) return;
    pending.set(keyOf(target), target);
    waitingSince ??= Date.now();
    if (Date.now() - waitingSince >= MAX_WAIT_MS) return;
    clearTimeout(timer);
    timer = setTimeout(pump, DEBOUNCE_MS);
  };

  const pump = () => {
    waitingSince = undefined;
    if (closed || pending.size === 0) return;
    // A newer change to what is being built cancels that build; the new job follows it, and
    // swaps even if that build had finished (else the edit it made would never be served).
    // A config change cancels a build too (one that hangs must not hold the config back):
    // the config is reloaded first, then that driver is built again.
    if (running) {
      const { key } = running;
      const preempt = pending.has(key) || (pending.has(CONFIG) && key !== CONFIG);
      if (preempt && !running.abort.signal.aborted) {
        force.add(key);
        if (!pending.has(key)) pending.set(key, { driver: key });
        running.abort.abort('a newer change replaced this one');
      }
      return;
    }
    const [key, target] = (
      pending.has(CONFIG) ? [CONFIG, pending.get(CONFIG)] : pending.entries().next().value
    ) as [string, Target];
    pending.delete(key);
    const forced = force.delete(key);
    const abort = new AbortController();
    running = { key, abort };
    void run(target, abort.signal, forced)
      .catch(() => {})
      .finally(() => {
        running = undefined;
        pump();
      });
  };

  const run = async (target: Target, signal: AbortSignal, forced: boolean): Promise<void> => {
    if ('config' in target) {
      await options.reloadConfig?.().catch((err: unknown) =>
        options.logger.log('error', 'config reload failed; the running config keeps serving', {
          file: host.config.file,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
      await rewatch();
      return;
    }
    const { driver } = target;
    // Events that did not change an input (a touch, an editor's backup file) swap nothing.
    if (!forced && !(await stale(host, driver))) return;
    options.logger.log('info', 'source changed; rebuilding and swapping', { driver });
    try {
      await host.replace(driver, signal);
      options.logger.log('info', 'driver swapped', { driver });
      options.onSwap?.(driver);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      if ((err as { code?: string }).code === 'RELOAD_CANCELLED')
        options.logger.log('info', 'swap cancelled by a newer change', { driver });
      else {
        options.logger.log('error', 'swap failed; the running driver keeps serving', {
          driver,
          error,
        });
        options.onSwap?.(driver, err);
      }
    }
    await rewatch();
  };

  /** Watches the folders of every source driver's inputs, and the config's folder. */
  const rewatch = async () => {
    const next = new Map<string, Map<string, Set<string>>>();
    const note = (file: string, driver: string) => {
      const folder = dirname(file);
      let files = next.get(folder);
      if (!files) next.set(folder, (files = new Map()));
      let drivers = files.get(basename(file));
      if (!drivers) files.set(basename(file), (drivers = new Set()));
      drivers.add(driver);
    };
    const { builtInputs } = await import('../build/build.js');
    for (const entry of host.config.drivers) {
      if (!(await isFolder(entry.driver))) continue;
      const inputs = await builtInputs({
        folder: entry.driver,
        type: entry.type,
        binDir: host.config.binDir,
      });
      // The folder itself, for files not yet read by a build (a new module); dependencies in
      // node_modules change by an install, not an edit.
      note(join(entry.driver, '*'), entry.name);
      for (const file of inputs)
        if (!file.includes(`${sep}node_modules${sep}`)) note(file, entry.name);
    }
    if (options.reloadConfig && host.config.file.startsWith(sep))
      note(host.config.file, '\0config');
    interest = next;
    if (closed) return;
    for (const [folder, w] of watchers)
      if (!next.has(folder)) {
        w.close();
        watchers.delete(folder);
      }
    for (const folder of next.keys()) {
      if (watchers.has(folder)) continue;
      try {
        const w = watch(folder, (_event, name) => onEvent(folder, name ?? undefined));
        w.on('error', () => {});
        w.unref();
        watchers.set(folder, w);
      } catch {
        // A folder gone (a removed driver): nothing to watch.
      }
    }
  };

  const onEvent = (folder: string, name: string | undefined) => {
    const files = interest.get(folder);
    if (!files) return;
    const hit = new Set([...(files.get('*') ?? []), ...((name && files.get(name)) || [])]);
    for (const driver of hit) changed(driver === '\0config' ? { config: true } : { driver });
  };

  return {
    ready: rewatch(),
    refresh: rewatch,
    close() {
      closed = true;
      clearTimeout(timer);
      running?.abort.abort();
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}

/** Whether a source driver's binary is out of date with its inputs. */
async function stale(host: DriverHost, name: string): Promise<boolean> {
  const entry = host.config.drivers.find((d) => d.name === name);
  if (!entry || !(await isFolder(entry.driver))) return false;
  const { buildStatus } = await import('../build/build.js');
  const status = await buildStatus({
    folder: entry.driver,
    type: entry.type,
    binDir: host.config.binDir,
  });
  return status !== 'built';
}

async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
