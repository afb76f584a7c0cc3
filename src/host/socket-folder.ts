// A folder of drivers run as services, as Docker's and Dapr's plugin folders are: NAME.sock
// is driver NAME, of the type its DriverInfo says. Whoever can write in the folder can put a
// socket there and receive the calls (and secrets) meant for a driver, so the folder and
// each socket are checked as ssh's StrictModes checks a home folder.
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '../launch/connection.js';

/** A socket of the folder: the driver's name, the socket's path, who made it, its inode. */
export interface FoundSocket {
  name: string;
  path: string;
  uid: number;
  ino: number;
}

const SOCKET = /^([A-Za-z0-9_.-]+)\.sock$/;
/** Sockets probed for DriverInfo at once: a folder full of silent ones costs one timeout. */
const PROBES_AT_ONCE = 32;

/** Who may own the folder and its sockets: this process's user, root, or `owner` (socket_owner). */
const trusted = (uid: number, owner?: number) =>
  uid === process.getuid?.() || uid === 0 || uid === owner;

/**
 * Why `dir` cannot be trusted, or undefined when it can: it must be a folder owned by this
 * process's user (or root), and not writable by group or others unless sticky (as /tmp is:
 * then nobody else can remove or rename a socket of ours, and sockets of others are refused
 * one by one, see socketsIn).
 */
export async function folderRefusal(dir: string, owner?: number): Promise<string | undefined> {
  const s = await stat(dir).catch(() => undefined);
  if (!s) return undefined; // Not there yet: nothing to find, nothing to trust.
  const me = process.getuid?.();
  if (me === undefined) return undefined;
  if (!s.isDirectory()) return `${dir} is not a folder`;
  const mode = (s.mode & 0o7777).toString(8).padStart(4, '0');
  if (!trusted(s.uid, owner))
    return `${dir} is owned by uid ${s.uid}, not by this process's user (uid ${me})${owner === undefined ? ' or root' : `, root or socket_owner (uid ${owner})`}`;
  if ((s.mode & 0o022) !== 0 && (s.mode & 0o1000) === 0)
    return `${dir} is writable by ${s.mode & 0o002 ? 'others' : 'its group'} (mode ${mode}), who could replace a driver's socket with their own`;
  return undefined;
}

/**
 * The `NAME.sock` sockets in `dir` (files of other kinds are left alone), and those refused
 * because someone other than this process's user, root or `owner` made them. Linux gives a
 * socket file the uid of the process that bound it, so this is who listens there (Node has
 * no SO_PEERCRED to ask the listener itself).
 */
export async function socketsIn(
  dir: string,
  owner?: number,
): Promise<{ sockets: FoundSocket[]; strangers: FoundSocket[] }> {
  const out = { sockets: [] as FoundSocket[], strangers: [] as FoundSocket[] };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const file of names) {
    const m = SOCKET.exec(file);
    if (!m) continue;
    const path = join(dir, file);
    const s = await lstat(path).catch(() => undefined);
    if (!s?.isSocket()) continue;
    const found = { name: m[1], path, uid: s.uid, ino: s.ino };
    (trusted(s.uid, owner) ? out.sockets : out.strangers).push(found);
  }
  return out;
}

/**
 * The driver type a socket's DriverInfo names; null when it answers without one, undefined
 * when it does not answer within `ms` (or at all).
 */
export async function typeAt(path: string, ms: number): Promise<string | null | undefined> {
  const connection = new Connection({ network: 'unix', address: path });
  try {
    return (await connection.info(new Date(Date.now() + ms)))?.type ?? null;
  } catch {
    return undefined;
  } finally {
    connection.close();
  }
}

/** The types of `sockets`, asked PROBES_AT_ONCE at a time; `found` hears each as it answers. */
export async function typesAt(
  sockets: readonly FoundSocket[],
  ms: number,
  found: (s: FoundSocket, type: string | null | undefined) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < sockets.length) {
      const s = sockets[next++];
      found(s, await typeAt(s.path, ms));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROBES_AT_ONCE, sockets.length) }, worker));
}
