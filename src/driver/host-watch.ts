import { pidAlive } from '../pid.js';

/** How often a driver checks that its host is alive; the guarantee is exit within 2 s. */
const INTERVAL_MS = 250;

/**
 * Calls `onGone` once the process that started this driver has died. go-plugin hosts of
 * any language give no signal for that (nothing is closed: stdin is often a terminal),
 * but the kernel re-parents an orphan, so a changed parent pid is proof that works under
 * every host, including a Go one. A driverkit host also passes its pid, which covers a
 * driver behind a wrapper such as `sh -c` whose own parent outlives the host.
 */
export function watchHost(onGone: () => void, hostPid?: number, intervalMs = INTERVAL_MS): () => void {
  const initial = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== initial || (hostPid !== undefined && !pidAlive(hostPid))) {
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  // The check must not keep an otherwise finished driver alive.
  timer.unref();
  return () => clearInterval(timer);
}
