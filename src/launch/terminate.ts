import { pidAlive } from '../pid.js';
import { removeSocket } from './socket-file.js';
import { tellWatchdog } from '../watchdog.js';

/** Process groups of drivers still running (with their socket), killed if the host exits without closing them. */
const live = new Map<number, () => string | undefined>();
let hooked = false;

/**
 * Sends `signal` to the driver's whole process group (it leads its own group: it is
 * spawned detached), so children it started go too. Returns false when none is left.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Remembers a driver group so that a host that exits without closing (process.exit, an
 * uncaught exception) still kills it and removes its socket. A host killed by a signal
 * cannot run this: the watchdog stops its drivers then (and SDK drivers notice on their own).
 */
export function trackGroup(pid: number, socket: () => string | undefined): () => void {
  live.set(pid, socket);
  tellWatchdog('+', pid);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const [p, path] of live) {
        signalGroup(p, 'SIGKILL');
        // A SIGKILLed driver cannot remove its socket; only synchronous work runs here.
        const file = path();
        if (file) removeSocket(file);
      }
    });
  }
  let tracked = true;
  return () => {
    if (!tracked) return;
    tracked = false;
    live.delete(pid);
    tellWatchdog('-', pid);
  };
}

/** Sends a signal to one process (not its group); false when it is gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls a process that is not our child (so sends no exit event) until it is gone (or
 * `alive` says so) or `ms` pass.
 */
export async function pidGoneWithin(
  pid: number,
  ms: number,
  alive: () => boolean = () => pidAlive(pid),
): Promise<boolean> {
  const end = Date.now() + ms;
  while (alive()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
