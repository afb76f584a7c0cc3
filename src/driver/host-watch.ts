import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
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
export function watchHost(
  onGone: () => void,
  hostPid?: number,
  intervalMs = INTERVAL_MS,
): () => void {
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

/**
 * Calls `onGone` once the host pipe at `fd` (see ENV.hostPipe) reads end-of-file: the host
 * died, at once and however it died. False when `fd` is not a pipe or socket (an inherited
 * variable from some other process): the poll of watchHost is then all there is.
 */
export function watchHostPipe(fd: number, onGone: () => void): boolean {
  try {
    const info = fstatSync(fd);
    if (!info.isFIFO() && !info.isSocket()) return false;
  } catch {
    return false;
  }
  let pipe: Socket;
  try {
    pipe = new Socket({ fd, readable: true, writable: false });
  } catch {
    // In use already (a forked child's IPC channel on that number, say): not ours to watch.
    return false;
  }
  let called = false;
  const gone = () => {
    if (!called) onGone();
    called = true;
  };
  pipe.on('end', gone).on('close', gone).on('error', gone);
  pipe.resume().unref();
  return true;
}
