import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { groupMembers, tryRead } from '../pid.js';

/**
 * Whether the socket or port a handshake names is listened on by a process of the driver's
 * own process group, read from /proc: a driver cannot point its host at another driver's
 * socket or port, whenever that was made. Undefined where /proc cannot tell (not Linux) and
 * when nothing is there to dial. Synchronous: a few small /proc reads, on a driver's start.
 */
export function listenedByGroup(
  network: string,
  address: string,
  pgid: number,
): boolean | undefined {
  return listenedBy(network, address, () => groupMembers(pgid));
}

/** Whether process `pid` itself listens there (a reattached driver's pid); as listenedByGroup. */
export function listenedByProcess(
  network: string,
  address: string,
  pid: number,
): boolean | undefined {
  return listenedBy(network, address, () => [pid]);
}

function listenedBy(
  network: string,
  address: string,
  members: () => Iterable<number>,
): boolean | undefined {
  let inodes: Set<string>;
  try {
    inodes = network === 'unix' ? unixListeners(address) : tcpListeners(address);
  } catch {
    return undefined;
  }
  if (inodes.size === 0) {
    // A socket file there that no listener was bound at is another's, reached by another
    // name (a hard link, a symlinked folder); nothing there: dialing fails on its own.
    if (network !== 'unix') return undefined;
    return tryRead(() => lstatSync(address).isSocket(), false) ? false : undefined;
  }
  for (const pid of members()) {
    for (const fd of tryRead(() => readdirSync(`/proc/${pid}/fd`), [])) {
      const target = tryRead(() => readlinkSync(`/proc/${pid}/fd/${fd}`), '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return true;
    }
  }
  return false;
}

/** Inodes of the unix sockets listening at `path` (flag __SO_ACCEPTCON, 0x10000). */
function unixListeners(path: string): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f.slice(7).join(' ') === path && (parseInt(f[3], 16) & 0x10000) !== 0)
      out.add(f[6]);
  }
  return out;
}

/**
 * Inodes of the TCP sockets listening at `address` (`HOST:PORT`): on that port, at that
 * address or at the wildcard one, v4 or v6.
 */
function tcpListeners(address: string): Set<string> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  const v4 = host.split('.').map(Number);
  const zeros = (n: number) => Array<number>(n).fill(0);
  // A v4 address is also reached through a dual-stack listener: `::` or `::ffff:a.b.c.d`.
  const wanted = isIPv6(host)
    ? { '/proc/net/tcp6': [ipv6Bytes(host), zeros(16)] }
    : {
        '/proc/net/tcp': [v4, zeros(4)],
        '/proc/net/tcp6': [zeros(16), [...zeros(10), 0xff, 0xff, ...v4]],
      };
  const out = new Set<string>();
  for (const [file, addresses] of Object.entries(wanted)) {
    const hex = new Set(addresses.map(procAddress));
    const text = tryRead(() => readFileSync(file, 'utf8'), '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXADDR:HEXPORT; state 0A is LISTEN.
      if (f.length < 10 || f[3] !== '0A') continue;
      const [addr, hexPort] = f[1].split(':');
      if (parseInt(hexPort, 16) === port && hex.has(addr)) out.add(f[9]);
    }
  }
  return out;
}

/** An address's bytes as /proc/net/tcp(6) writes them: 32-bit words in the host's (little-endian) order. */
function procAddress(bytes: number[]): string {
  let out = '';
  for (let w = 0; w < bytes.length; w += 4)
    for (let i = 3; i >= 0; i--) out += bytes[w + i].toString(16).padStart(2, '0');
  return out.toUpperCase();
}

function ipv6Bytes(ip: string): number[] {
  const [head, tail = ''] = ip.split('::');
  const words = (s: string) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const [a, b] = [words(head), words(tail)];
  const all = ip.includes('::') ? [...a, ...Array(8 - a.length - b.length).fill(0), ...b] : a;
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}
