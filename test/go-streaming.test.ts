// Every gRPC method kind against real go-plugin peers, both ways: driverkit's host with a
// Go driver of the test type "counter" (test/go/counter/plugin, grpc-go's server), and a
// go-plugin Go host (test/go/counter/host, grpc-go's client) with the TS SDK driver.
// int64 exact, statuses intact, and cancellation reaching the other process.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { RpcError } from '../src/errors.js';
import { Status } from '../src/status.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import { createClient } from '../src/rpc/client.js';
import { dial } from '../src/transport/client.js';
import {
  collect,
  counterThroughGateway,
  expectRejection,
  hasGoToolchain,
  isAlive,
  leaveQuietStream,
  recordGroup,
  requestQueue,
  spawnUntil,
  useDriver,
  waitFor,
} from './helpers.js';
import { BIN, ROOT } from './paths.js';

const BIG = '1152921504606846977'; // 2^60 + 1: a number would round it
const MIN_INT64 = '-9223372036854775808';
const MESSAGE = 'ünïcödé 100% ✓ done'; // grpc-go percent-encodes grpc-message; driverkit must decode it

function markerFile(): { path: string; read: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'dk-go-stream-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'marker');
  return { path, read: () => (existsSync(path) ? readFileSync(path, 'utf8') : '') };
}

/** True while any process of group `pgid` runs. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasGoToolchain)('every method kind with go-plugin peers', () => {
  let binDir = '';
  let goPlugin = '';
  let goHost = '';
  beforeAll(() => {
    mkdirSync(join(ROOT, '.cache', 'go-bin'), { recursive: true });
    // A folder per run: runs side by side must not rewrite a binary the other is running.
    binDir = mkdtempSync(join(ROOT, '.cache', 'go-bin', 'counter-'));
    goPlugin = join(binDir, 'plugin');
    goHost = join(binDir, 'host');
    for (const [what, out] of [
      ['plugin', goPlugin],
      ['host', goHost],
    ]) {
      execFileSync('sh', [join(ROOT, 'test/go/counter/build.sh'), what], {
        env: { ...process.env, OUT: out },
        stdio: 'pipe',
      });
    }
  }, 180_000);
  afterAll(() => binDir && rmSync(binDir, { recursive: true, force: true }));

  describe('driverkit host → Go driver (go-plugin 1.0.1, grpc-go server)', () => {
    async function goDriver(env: Record<string, string> = {}) {
      const driver = useDriver({ name: 'counter-go', path: goPlugin, contract: counter, env });
      await driver.ready;
      return driver;
    }

    it('return() with a read pending on a quiet stream settles at once; grpc-go sees the cancel', async () => {
      const marker = markerFile();
      const { client } = await goDriver({ COUNTER_MARKER: marker.path });
      const { atOnce, pending } = await leaveQuietStream(client.echo);
      expect(pending.done).toBe(true);
      expect(atOnce).toBe(true);
      await waitFor(() => marker.read() === 'echo cancelled', 10_000, 'the Go driver to see it');
    });

    it('a quiet connection watched every 100 ms is not closed by grpc-go for too many pings', async () => {
      const driver = await goDriver();
      let disconnects = 0;
      const stalls: string[] = [];
      const channel = dial(driver.handshake!, {
        keepalive: { intervalMs: 100, timeoutMs: 2000 },
        onDisconnect: () => disconnects++,
        onStall: (reason) => stalls.push(reason),
      });
      onTestFinished(() => channel.close());
      const client = createClient(counter.versions[1], channel.invoke);
      expect(await client.add({ value: '1' })).toEqual({ total: '1', count: '1' });
      // Three strikes close a connection; 3 s of quiet at 100 ms would be thirty.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await client.add({ value: '2' })).toEqual({ total: '2', count: '1' });
      expect({ disconnects, stalls }).toEqual({ disconnects: 0, stalls: [] });
    });

    it('the same through the gateway, from a client of dial()', async () => {
      const marker = markerFile();
      const client = await counterThroughGateway(goPlugin, { COUNTER_MARKER: marker.path });
      const { atOnce, pending } = await leaveQuietStream(client.echo);
      expect(pending.done).toBe(true);
      expect(atOnce).toBe(true);
      await waitFor(() => marker.read() === 'echo cancelled', 10_000, 'the Go driver to see it');
    });

    it('unary, server-streaming, client-streaming and bidi, with int64 exact', async () => {
      const marker = markerFile();
      const { client } = await goDriver({ COUNTER_MARKER: marker.path });
      expect(await client.add({ value: BIG })).toEqual({ total: BIG, count: '1' });
      expect(await client.add({ value: MIN_INT64 })).toEqual({ total: MIN_INT64, count: '1' });
      const ticks = await collect(client.count({ n: 3, size: 4 }));
      expect(ticks.map((t) => t.i)).toEqual([0, 1, 2]);
      expect(ticks.map((t) => Buffer.from(t.payload).toString())).toEqual(['xxxx', 'xxxx', 'xxxx']);
      expect(await client.sum([{ value: BIG }, { value: '-1' }, { value: '2' }])).toEqual({
        total: '1152921504606846978',
        count: '3',
      });
      async function* values() {
        for (let i = 1; i <= 4; i++) yield { value: String(i) };
      }
      expect(await client.sum(values())).toEqual({ total: '10', count: '4' });
      // Ping-pong: each request is sent only after the answer to the last one came back.
      const { requests, send, end } = requestQueue<{ i: number; payload: Buffer }>();
      const replies = client.echo(requests)[Symbol.asyncIterator]();
      for (let i = 1; i <= 3; i++) {
        send({ i, payload: Buffer.from([i]) });
        const reply = await replies.next();
        expect(reply.value).toMatchObject({ i });
        expect([...reply.value!.payload]).toEqual([i]);
      }
      end();
      expect((await replies.next()).done).toBe(true);
      await waitFor(
        () => marker.read() === 'echo ended',
        10_000,
        () => `the Go driver to see the echo end, marker ${JSON.stringify(marker.read())}`,
      );
    });

    it('a status from grpc-go ends a stream with its code and non-ASCII message intact, after the responses', async () => {
      const { client } = await goDriver();
      const got: number[] = [];
      const err = await expectRejection(
        (async () => {
          for await (const t of client.count({
            n: 2,
            failCode: Status.FAILED_PRECONDITION,
            failMessage: MESSAGE,
          }))
            got.push(t.i);
        })(),
        RpcError,
      );
      expect(got).toEqual([0, 1]);
      expect(err.status).toBe(Status.FAILED_PRECONDITION);
      expect(err.details).toBe(MESSAGE);
      expect(err.method).toBe('/counter.v1.Counter/Count');
    });

    it('the host leaving a stream early cancels it: the Go driver sees ctx.Done()', async () => {
      const marker = markerFile();
      const { client } = await goDriver({ COUNTER_MARKER: marker.path });
      for await (const t of client.count({ n: 0 })) if (t.i === 2) break;
      await waitFor(
        () => /^cancelled after \d+$/.test(marker.read()),
        10_000,
        () => `the Go driver to see the stream cancelled, marker ${JSON.stringify(marker.read())}`,
      );
      expect(Number(/\d+$/.exec(marker.read())![0])).toBeGreaterThanOrEqual(3);
    });

    it("aborting the signal mid-stream ends the host's iteration with CANCELLED, and the Go driver's stream", async () => {
      const marker = markerFile();
      const { client } = await goDriver({ COUNTER_MARKER: marker.path });
      const abort = new AbortController();
      const err = await expectRejection(
        (async () => {
          for await (const t of client.count({ n: 0 }, { signal: abort.signal }))
            if (t.i === 1) abort.abort();
        })(),
        RpcError,
      );
      expect(err.status).toBe(Status.CANCELLED);
      await waitFor(
        () => /^cancelled after \d+$/.test(marker.read()),
        10_000,
        () => `the Go driver to see the stream cancelled, marker ${JSON.stringify(marker.read())}`,
      );
    });

    it('a deadline covers the whole stream: an endless one ends with DEADLINE_EXCEEDED, in the Go driver too', async () => {
      const marker = markerFile();
      const { client } = await goDriver({ COUNTER_MARKER: marker.path });
      const err = await expectRejection(
        collect(client.count({ n: 0, size: 1024 }, { timeout: 300 })),
        RpcError,
      );
      expect(err.status).toBe(Status.DEADLINE_EXCEEDED);
      await waitFor(
        () => /^cancelled after \d+$/.test(marker.read()),
        10_000,
        () => `the Go driver to see the deadline, marker ${JSON.stringify(marker.read())}`,
      );
    });

    it("aborting a bidi stream ends the host's iteration with CANCELLED and the Go driver's handler", async () => {
      const marker = markerFile();
      const { client } = await goDriver({ COUNTER_MARKER: marker.path });
      const abort = new AbortController();
      const { requests, send } = requestQueue<{ i: number }>();
      const replies = client.echo(requests, { signal: abort.signal })[Symbol.asyncIterator]();
      send({ i: 7 });
      expect((await replies.next()).value).toMatchObject({ i: 7 });
      abort.abort();
      const err = await expectRejection(replies.next(), RpcError);
      expect(err.status).toBe(Status.CANCELLED);
      // Not yet "echo cancelled": grpc-js cancels a call whose request side is still open by
      // ending it first (Node's Http2Stream.close() sends an empty DATA with END_STREAM, then
      // RST_STREAM CANCEL; grpc/grpc-node#2583), so grpc-go hands the handler io.EOF, a clean
      // end of requests, before ctx.Done(). Which one a handler sees first is a race in grpc-go.
      await waitFor(
        () => /^echo (ended|cancelled)$/.test(marker.read()),
        10_000,
        () => `the Go driver's echo to end, marker ${JSON.stringify(marker.read())}`,
      );
    });

    it("the Go driver answering early (SendAndClose) stops the host's requests: its generator is ended", async () => {
      const { client } = await goDriver();
      let produced = 0;
      let ended = false;
      async function* endless() {
        try {
          for (;;) {
            produced++;
            yield { value: '1' };
          }
        } finally {
          ended = true;
        }
      }
      const res = await client.sum(endless(), { metadata: { 'x-stop-after': '3' } });
      expect(res).toEqual({ total: '3', count: '3' });
      await waitFor(() => ended, 10_000, "the host's request generator to be ended");
      expect(produced).toBeLessThan(100_000);
    });

    it("the host's keepalive keeps to grpc-go's ping policy: a silent call is not GOAWAY'd", async () => {
      // grpc-go closes a connection (GOAWAY too_many_pings) after its third PING closer than
      // 5 minutes to the last with nothing sent in between. PINGing every 100 ms, a call that
      // is silent for 2 s used to die on that.
      const driver = useDriver({
        name: 'counter-go',
        path: goPlugin,
        contract: counter,
        keepalive: { intervalMs: 100, timeoutMs: 5_000 },
      });
      await driver.ready;
      const { requests, send, end } = requestQueue<{ value: string }>();
      const sum = driver.client.sum(requests, { timeout: 30_000 });
      send({ value: '1' });
      // The silence is what is tested here, not a wait for something to happen.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      send({ value: '2' });
      end();
      expect(await sum).toEqual({ total: '3', count: '2' });
    });

    it('a host that stops reading stops the Go producer: Send blocks a bounded way ahead', async () => {
      const marker = markerFile();
      const { client } = await goDriver({ COUNTER_MARKER: marker.path });
      const size = 64 * 1024;
      const it = client.count({ n: 0, size })[Symbol.asyncIterator]();
      for (let i = 0; i < 5; i++) await it.next();
      const produced = () => Number(/^produced (\d+)$/.exec(marker.read())?.[1] ?? 0);
      // No event says "the producer is blocked": watch its count until it stops moving.
      let last = -1;
      let still = 0;
      await waitFor(
        () => (produced() === last ? ++still >= 10 : ((last = produced()), (still = 0), false)),
        20_000,
        'the Go producer to stop',
      );
      expect(last * size).toBeLessThan(24 * 1024 * 1024);
      await it.return!();
      await waitFor(
        () => /^cancelled after \d+$/.test(marker.read()),
        10_000,
        () => `the Go driver to see the stream cancelled, marker ${JSON.stringify(marker.read())}`,
      );
    });
  });

  describe('go-plugin Go host (grpc-go client) → TS driver', () => {
    it('runs every method kind against the SDK driver, cancels streams the driver sees cancelled, and Kill() ends it', async () => {
      const marker = markerFile();
      // Detached, so that the Go host and the driver it starts form one group to check (and end on failure).
      const { child, done } = await spawnUntil(goHost, [BIN.counter], /\n/, {
        detached: true,
        env: { ...process.env, COUNTER_MARKER: marker.path },
      });
      const group = child.pid!;
      recordGroup(group);
      onTestFinished(() => {
        if (groupAlive(group)) process.kill(-group, 'SIGKILL');
      });
      const out = await done;
      expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
      const lines = out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const got = Object.fromEntries(lines.map(({ check, ...rest }) => [check as string, rest]));
      const cancelledAfter = expect.stringMatching(/^cancelled after \d+$/);
      expect(got).toEqual({
        add: { total: BIG, count: '1' },
        count: { ticks: [0, 1, 2], payloads: ['xxxx', 'xxxx', 'xxxx'] },
        'count-status': { ticks: [0, 1], code: Status.FAILED_PRECONDITION, message: MESSAGE },
        sum: { total: '1152921504606846978', count: '3' },
        // The driver answered after 3 values: grpc-go's Send saw the stream end (io.EOF).
        'sum-early': { total: '3', count: '3', send_error: 'EOF', sent: expect.any(Number) },
        echo: { ticks: [1, 2, 3], end: 'EOF', marker: 'echo ended' },
        'echo-cancel': { ticks: [7], code: Status.CANCELLED, marker: 'echo cancelled' },
        'count-deadline': { code: Status.DEADLINE_EXCEEDED, marker: cancelledAfter },
        'count-cancel': { ticks: [0, 1, 2], code: Status.CANCELLED, marker: cancelledAfter },
        kill: { pid: expect.any(Number), exited: true },
      });
      // The last stream was the endless Count the host cancelled after 3 ticks.
      expect(Number(/\d+$/.exec(marker.read())![0])).toBeGreaterThanOrEqual(3);
      // go-plugin's Kill() sends Shutdown and logs "plugin exited" only when the driver went on its own.
      const messages = out.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as Record<string, unknown>)['@message']);
      expect(messages).toContain('plugin exited');
      expect(messages).not.toContain('plugin failed to exit gracefully');
      expect(isAlive(got.kill.pid as number)).toBe(false);
      expect(groupAlive(group), "a process of the Go host's group is still running").toBe(false);
    }, 60_000);
  });
});
