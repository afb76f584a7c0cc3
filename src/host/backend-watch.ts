// A driver whose process runs but whose backend is down (an LDAP server unreachable) says so
// in its own health for "": the host asks it now and then, so that gateway health, /status
// and `driverkit ls` tell the truth about it, not only about its process.
import type { Driver } from '../launch/driver.js';

/** How often a ready driver's own health is asked; it answers from memory. */
const EVERY_MS = 1_000;

/**
 * Asks `driver`'s health for "" every second while it runs; `onChange` hears when its
 * backend goes down or comes back (no answer is no verdict). Returns the stop.
 */
export function watchBackend(driver: Driver, onChange: (up: boolean) => void): () => void {
  let up = true;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    const now = await driver.backendServing(new Date(Date.now() + EVERY_MS));
    if (stopped) return;
    if (now !== undefined && now !== up) onChange((up = now));
    timer = setTimeout(() => void tick(), EVERY_MS);
    timer.unref();
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
