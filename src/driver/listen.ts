import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PORT_RANGE, ENV } from '../protocol/env.js';
import type { GrpcServer } from '../transport/server.js';

/** Where a driver listens, as it goes into the handshake line. */
export interface Listening {
  network: 'unix' | 'tcp';
  address: string;
  /** Removes what listening left on disk (the socket file). Safe to call twice. */
  cleanup(): void;
}

/** Linux's sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * Binds the server on a unix socket (go-plugin's choice on every unix) or on loopback TCP
 * within `PLUGIN_MIN_PORT`..`PLUGIN_MAX_PORT`.
 */
export async function listen(
  server: GrpcServer,
  network: 'unix' | 'tcp',
  env = process.env,
): Promise<Listening> {
  return network === 'unix' ? listenUnix(server, env) : listenTcp(server, env);
}

async function listenUnix(server: GrpcServer, env: NodeJS.ProcessEnv): Promise<Listening> {
  const dir = env[ENV.unixSocketDir] || tmpdir();
  const path = join(dir, `plugin${randomBytes(5).readUInt32BE() % 1e9}`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new Error(
      `unix socket path is ${Buffer.byteLength(path)} bytes, over the ${MAX_SOCKET_PATH}-byte limit: ${path} (set ${ENV.unixSocketDir} to a shorter folder)`,
    );
  }
  const group = env[ENV.unixSocketGroup];
  // The socket is created with its final mode: the bind happens inside listen(), under this
  // umask, so there is no moment when another user could connect (chmod after it left one).
  const umask = process.umask(group ? 0o117 : 0o177);
  let bound: Promise<number>;
  try {
    bound = server.listen({ path });
  } finally {
    process.umask(umask);
  }
  await bound;
  const cleanup = () => rmSync(path, { force: true });
  try {
    if (group) {
      chownSync(path, -1, resolveGroup(group));
      chmodSync(path, 0o660);
    } else {
      chmodSync(path, 0o600);
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  return { network: 'unix', address: path, cleanup };
}

async function listenTcp(server: GrpcServer, env: NodeJS.ProcessEnv): Promise<Listening> {
  const min = Number(env[ENV.minPort] || DEFAULT_PORT_RANGE.min);
  const max = Number(env[ENV.maxPort] || DEFAULT_PORT_RANGE.max);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
    throw new Error(
      `invalid port range ${env[ENV.minPort]}..${env[ENV.maxPort]}: expected integers with 1 <= min <= max <= 65535`,
    );
  }
  // go-plugin walks the range upwards and takes the first free port; so do we.
  for (let port = min; port <= max; port++) {
    try {
      await server.listen({ host: '127.0.0.1', port });
      return { network: 'tcp', address: `127.0.0.1:${port}`, cleanup: () => {} };
    } catch {
      // taken: try the next one
    }
  }
  throw new Error(`no free TCP port on 127.0.0.1 in ${min}..${max}`);
}

/** go-plugin takes a gid or a group name; Node has no getgrnam, so read /etc/group. */
function resolveGroup(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group) return Number(gid);
  }
  throw new Error(`${ENV.unixSocketGroup}: no group named ${JSON.stringify(group)}`);
}
