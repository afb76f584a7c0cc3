/** Process groups of drivers still running, killed if the host exits without closing them. */
const live = new Set<number>();
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
 * uncaught exception) still kills it. A host killed by a signal cannot run this: drivers
 * notice that on their own (see the driver SDK's host watch).
 */
export function trackGroup(pid: number): () => void {
  live.add(pid);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const p of live) signalGroup(p, 'SIGKILL');
    });
  }
  return () => live.delete(pid);
}
