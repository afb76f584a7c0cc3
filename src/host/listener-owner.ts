import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * Whether the socket or port a handshake names is listened on by a process of the driver's
 * own process group, read from /proc: a driver cannot point its host at another driver's
 * socket or port, whenever that was made. Undefined where /proc cannot tell (not Linux) and
 * when nothing listens there.
 */
export async function listenedByGroup(
  network: string,
  address: string,
  pgid: number,
): Promise<boolean | undefined> {
  let inodes: Set<string>;
  try {
    inodes = network === 'unix' ? await unixListeners(address) : await tcpListeners(address);
  } catch {
    return undefined;
  }
  // Nothing listens there: dialing fails on its own, with its own clear error.
  if (inodes.size === 0) return undefined;
  for (const pid of await groupMembers(pgid)) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return true;
    }
  }
  return false;
}

/** Inodes of the unix sockets listening at `path` (flag __SO_ACCEPTCON, 0x10000). */
async function unixListeners(path: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const line of (await readFile('/proc/net/unix', 'utf8')).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f.slice(7).join(' ') === path && (parseInt(f[3], 16) & 0x10000) !== 0)
      out.add(f[6]);
  }
  return out;
}

/** Inodes of the TCP sockets listening on the port of `address` (`HOST:PORT`), v4 and v6. */
async function tcpListeners(address: string): Promise<Set<string>> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const out = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXADDR:HEXPORT; state 0A is LISTEN.
      if (f.length >= 10 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port)
        out.add(f[9]);
    }
  }
  return out;
}

/** The pids whose process group is `pgid`. */
async function groupMembers(pgid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // `pid (comm) state ppid pgrp ...`: the name may hold spaces and parentheses.
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp === pgid) out.push(Number(name));
  }
  return out;
}
