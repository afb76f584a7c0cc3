import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import {
  GetUserRequest,
  GetUserResponse,
} from '../src/gen/driverkit/userprovider/v1/userprovider.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { startDriver } from '../src/launch/driver.js';
import { parseHandshake } from '../src/protocol/handshake.js';

const PATH = '/driverkit.userprovider.v1.UserProvider/GetUser';
export const BENCH_BIN = join(process.cwd(), '.cache', 'bench');
const quiet = { log: () => {} };

/** One way to make "the same call": send `payload` as the id, get it back. */
export interface Peer {
  name: string;
  call(payload: string): Promise<unknown>;
  close(): Promise<void>;
}

export async function driverkitPeer(): Promise<Peer> {
  const driver = await startDriver({
    name: 'bench',
    path: join(BENCH_BIN, 'echo-driver'),
    contract: userprovider,
    logger: quiet,
  });
  return {
    name: 'driverkit',
    call: (p) => driver.client.getUser({ userId: { opaqueId: p } }),
    close: () => driver.close(),
  };
}

/** Spawns a bench server on a fresh unix socket and waits for its "ready" line. */
export async function spawnReady(
  program: string,
): Promise<{ child: ChildProcess; socket: string }> {
  const socket = join(tmpdir(), `bench${randomBytes(4).readUInt32BE()}`);
  const child = spawn(process.execPath, [join(BENCH_BIN, program), socket], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`${program} exited ${code}`)));
  });
  return { child, socket };
}

/** Kills a server from `spawnReady` and removes its socket. */
export async function stop(child: ChildProcess, socket: string): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  rmSync(socket, { force: true });
}

/** A plain grpc-js client, as its users write one: ts-proto's encode/decode and a callback. */
function grpcClientPeer(
  name: string,
  target: string,
  options: Record<string, string | number>,
  stopServer: () => Promise<void>,
): Peer {
  const client = new Client(target, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 << 20,
    ...options,
  });
  const serialize = (v: GetUserRequest) => Buffer.from(GetUserRequest.encode(v).finish());
  const deserialize = (b: Buffer) => GetUserResponse.decode(b);
  const metadata = new Metadata();
  const call = (p: string) =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        PATH,
        serialize,
        deserialize,
        { userId: { idp: '', opaqueId: p, type: 0 }, skipFetchingGroups: false },
        metadata,
        {},
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  return {
    name,
    call,
    close: async () => {
      client.close();
      await stopServer();
    },
  };
}

/** The floor for driverkit's own overhead: a plain grpc-js client and server, nothing of driverkit's. */
export async function rawGrpcPeer(): Promise<Peer> {
  const { child, socket } = await spawnReady('raw-server');
  return grpcClientPeer('raw grpc-js', `unix:${socket}`, {}, () => stop(child, socket));
}

/**
 * driverkit's driver (its node:http2 server) dialed by a plain grpc-js client with `options`:
 * isolates the server side, or a client option, from the rest of driverkit.
 */
export async function driverServerPeer(
  name: string,
  options: Record<string, string | number> = {},
): Promise<Peer> {
  const env = {
    ...process.env,
    [userprovider.cookieKey]: userprovider.cookieValue,
    PLUGIN_PROTOCOL_VERSIONS: '1',
  };
  const child = spawn(join(BENCH_BIN, 'echo-driver'), [], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString()));
    child.once('exit', (code) =>
      reject(new Error(`echo-driver exited ${code} before its handshake`)),
    );
  });
  const parsed = parseHandshake(line.trim());
  if (!parsed.ok) throw new Error(`echo-driver: handshake line not understood: ${parsed.reason}`);
  const socket = parsed.handshake.address;
  return grpcClientPeer(name, `unix:${socket}`, options, () => stop(child, socket));
}

export async function http2Peer(): Promise<Peer> {
  const { child, socket } = await spawnReady('h2-server');
  const session: ClientHttp2Session = connect('http://localhost', {
    createConnection: () => netConnect(socket),
  });
  const call = (p: string) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/echo' });
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
      req.end(p);
    });
  return {
    name: 'node:http2',
    call,
    close: async () => {
      session.close();
      await stop(child, socket);
    },
  };
}
