import { type ChildProcess, spawn } from 'node:child_process';

/**
 * The watchdog, in POSIX sh: it reads "+ PGID" and "- PGID" lines from the host, and when
 * its stdin ends (the host exited, even by SIGKILL: the kernel closes the pipe) it sends
 * SIGTERM to every group still recorded, then SIGKILL 50 ms later. dash's kill takes a
 * group as `-PGID` after the signal, but not after `--`.
 */
const SCRIPT = `g=" "
while read -r op id; do
  case "$op" in
    +) g="$g$id " ;;
    -) g=$(echo "$g" | sed "s/ $id / /") ;;
  esac
done
[ "$g" = " " ] && exit 0
for p in $g; do kill -TERM -$p 2>/dev/null; done
sleep 0.05
for p in $g; do kill -KILL -$p 2>/dev/null; done`;

let watchdog: ChildProcess | undefined;
let unavailable = false;

/**
 * Tells the watchdog that a process group this process started (a driver, a build
 * command) began (`+`) or is gone (`-`). The watchdog (one small shell process, started on
 * the first group) outlives this process when it is killed by a signal, which no exit hook
 * survives, and then stops every group left: Go drivers and wrapped ones too, which watch
 * nothing, and build commands.
 */
export function tellWatchdog(op: '+' | '-', pgid: number): void {
  if (unavailable) return;
  if (!watchdog) {
    try {
      // Its own process group, so that a terminal's Ctrl-C to the host's group spares it.
      watchdog = spawn('/bin/sh', ['-c', SCRIPT], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
    } catch {
      unavailable = true;
      return;
    }
    watchdog.on('error', () => (unavailable = true));
    watchdog.stdin!.on('error', () => (unavailable = true));
    // Neither the process nor its pipe may keep an otherwise finished host alive.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  }
  watchdog.stdin!.write(`${op} ${pgid}\n`);
}
