// Memory before authentication: a client without a token can make the gateway hold no more
// than HTTP/2's stream window per call. Here one connection opens 100 calls with no token,
// each starting a 15 MiB message and sending all the window lets it; every call is refused
// while its request is still open, and `driverkit serve` stays small.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type ClientHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { spawnUntil } from './helpers.js';
import { tempDir } from './packages-helpers.js';
import { BIN, CLI } from './paths.js';

const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/**
 * Starts a 15 MiB message and sends it as fast as the peer's window lets it (a piece at a
 * time, on 'drain', so this client holds little); resolves with the call's status.
 */
function partialCall(session: ReturnType<typeof connect>): Promise<string> {
  const stream: ClientHttp2Stream = session.request({
    ':method': 'POST',
    ':path': '/driverkit.userprovider.v1.UserProvider/GetUser',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  const status = new Promise<string>((resolve) =>
    stream.once('response', (h) => resolve(String(h['grpc-status']))),
  );
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(15 * 1024 * 1024, 1);
  stream.write(prefix);
  const piece = Buffer.alloc(64 * 1024, 7);
  let left = 15 * 16;
  const pump = () => {
    while (left > 0 && !stream.closed) {
      left--;
      if (!stream.write(piece)) return void stream.once('drain', pump);
    }
  };
  pump();
  return status;
}

// RSS is read from /proc: Linux only.
describe.skipIf(!existsSync('/proc/self/status'))('the gateway before authentication', () => {
  it('100 calls without a token, each 15 MiB into a message: all refused mid-request, RSS stays small', async () => {
    const dir = tempDir('preauth');
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[gateway]\ntokens_env = "DK_TOKENS"\n\n[drivers.users]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`,
    );
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /serving users on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM', env: { ...process.env, DK_TOKENS: 's3cret' } },
    );
    const before = rssOf(serve.child.pid!);
    const session = connect(`http://${serve.match[1]}`);
    session.on('error', () => {});
    onTestFinished(() => void session.destroy());
    const statuses = await Promise.all(Array.from({ length: 100 }, () => partialCall(session)));
    expect(new Set(statuses)).toEqual(new Set(['16'])); // UNAUTHENTICATED
    // Before, each call's 15 MiB was read before the token was looked at: about 1.5 GiB.
    expect(rssOf(serve.child.pid!) - before).toBeLessThan(128 * 1024 * 1024);
  });
});
