// A folder of drivers run as services, as Docker's and Dapr's plugin folders are: NAME.sock
// is driver NAME, of the type its DriverInfo says.
import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '../launch/connection.js';

/** A socket of the folder: the driver's name and the socket's path. */
export interface FoundSocket {
  name: string;
  path: string;
}

const SOCKET = /^([A-Za-z0-9_.-]+)\.sock$/;

/** The `NAME.sock` sockets in `dir` (files of other kinds are left alone). */
export async function socketsIn(dir: string): Promise<FoundSocket[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: FoundSocket[] = [];
  for (const file of names) {
    const m = SOCKET.exec(file);
    if (!m) continue;
    const path = join(dir, file);
    if ((await lstat(path).catch(() => undefined))?.isSocket()) out.push({ name: m[1], path });
  }
  return out;
}

/** The driver type a socket's DriverInfo names; undefined when it does not answer one. */
export async function typeAt(path: string, ms: number): Promise<string | undefined> {
  const connection = new Connection({ network: 'unix', address: path });
  try {
    return (await connection.info(new Date(Date.now() + ms)))?.type;
  } catch {
    return undefined;
  } finally {
    connection.close();
  }
}
