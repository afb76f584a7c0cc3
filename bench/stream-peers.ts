// The sides of the streaming rows: driverkit's typed client and SDK driver, a plain grpc-js
// client and server, and go-plugin's Go host and plugin, each over the "counter" type's
// Count and Echo on a unix socket.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type ClientDuplexStream, Client, credentials } from '@grpc/grpc-js';
import { CONNECTION_WINDOW_BYTES, MESSAGE_LIMIT_OPTIONS } from '../src/protocol/limits.js';
import { startDriver } from '../src/launch/driver.js';
import { counter } from '../test/fixtures/gen/contracts/counter.js';
import { CountRequest, Tick } from '../test/fixtures/gen/counter/v1/counter.js';
import { BENCH_BIN, spawnReady, stop } from './peers.js';
import { timeEach } from './stats.js';

/** One way to make the same streaming calls, measured the same way. */
export interface StreamPeer {
  name: string;
  /** Messages per second of one Count call of `n` ticks of `size` bytes. */
  rate(n: number, size: number): Promise<number>;
  /** `k` round trips of a 100 B tick, one after the other on the peer's one Echo stream, in ms each. */
  pings(k: number): Promise<number[]>;
  close(): Promise<void>;
}

/** One open Echo stream: `ping` sends a tick and resolves with its echo. */
interface PingPong {
  ping(tick: Tick): Promise<unknown>;
  end(): Promise<void>;
}

const TICK: Tick = { i: 0, payload: Buffer.alloc(100, 120) };

/** A StreamPeer from a Count call (resolving with how many ticks came) and an Echo stream opener. */
function measured(
  name: string,
  count: (n: number, size: number) => Promise<number>,
  echo: () => PingPong,
  close: () => Promise<void>,
): StreamPeer {
  let stream: PingPong | undefined;
  return {
    name,
    async rate(n, size) {
      const t0 = performance.now();
      const got = await count(n, size);
      if (got !== n) throw new Error(`${name}: Count(${n}) streamed ${got} ticks`);
      return n / ((performance.now() - t0) / 1000);
    },
    pings: (k) => timeEach(k, () => (stream ??= echo()).ping(TICK)),
    close: async () => {
      await stream?.end();
      await close();
    },
  };
}

/** An async iterable that yields what is pushed, as a caller's requests for a bidi call. */
class Pushable<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #wake?: () => void;
  #ended = false;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.#items.length) yield this.#items.shift()!;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

const quiet = { log: () => {} };

/** driverkit's host typed client and an SDK driver (bench/servers/counter-driver.ts). */
export async function driverkitStreamPeer(): Promise<StreamPeer> {
  const driver = await startDriver({
    name: 'bench',
    path: join(BENCH_BIN, 'counter-driver'),
    contract: counter,
    logger: quiet,
  });
  const count = async (n: number, size: number) => {
    let got = 0;
    for await (const _ of driver.client.count({ n, size })) got++;
    return got;
  };
  const echo = (): PingPong => {
    const requests = new Pushable<Tick>();
    const responses = driver.client.echo(requests)[Symbol.asyncIterator]();
    return {
      ping: (tick) => (requests.push(tick), responses.next()),
      end: async () => {
        requests.end();
        await responses.next();
      },
    };
  };
  return measured('driverkit', count, echo, () => driver.close());
}

const tickCodec = {
  serialize: (v: Tick) => Buffer.from(Tick.encode(v).finish()),
  deserialize: (b: Buffer) => Tick.decode(b),
};
const countRequest = (v: CountRequest) => Buffer.from(CountRequest.encode(v).finish());

/** A plain grpc-js client with a 4 MiB window (what driverkit's host had before the one transport), and a grpc-js server (bench/servers/raw-counter-server.ts). */
export async function rawStreamPeer(): Promise<StreamPeer> {
  const { child, socket } = await spawnReady('raw-counter-server');
  const client = new Client(`unix:${socket}`, credentials.createInsecure(), {
    ...MESSAGE_LIMIT_OPTIONS,
    'grpc-node.flow_control_window': CONNECTION_WINDOW_BYTES,
  });
  const count = (n: number, size: number) =>
    new Promise<number>((resolve, reject) => {
      const call = client.makeServerStreamRequest(
        '/counter.v1.Counter/Count',
        countRequest,
        tickCodec.deserialize,
        { n, size, failCode: 0, failMessage: '' },
      );
      let got = 0;
      call.on('data', () => got++);
      call.on('end', () => resolve(got));
      call.on('error', reject);
    });
  const echo = (): PingPong => {
    const call: ClientDuplexStream<Tick, Tick> = client.makeBidiStreamRequest(
      '/counter.v1.Counter/Echo',
      tickCodec.serialize,
      tickCodec.deserialize,
    );
    return {
      ping: (tick) =>
        new Promise((resolve) => {
          call.once('data', resolve);
          call.write(tick);
        }),
      end: () =>
        new Promise((resolve) => {
          call.once('status', () => resolve());
          call.end();
        }),
    };
  };
  return measured('raw grpc-js', count, echo, async () => {
    client.close();
    await stop(child, socket);
  });
}

/**
 * go-plugin's Go host and Go plugin (bench/go/streaming/main.go, built at `binary`). The Go
 * host times its own calls and answers one command at a time, so its rounds interleave with
 * the others'.
 */
export async function goStreamPeer(binary: string): Promise<StreamPeer> {
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const command = async (line: string) => {
    child.stdin!.write(`${line}\n`);
    const answer = await lines.next();
    if (answer.done)
      throw new Error(`Go streaming host exited before answering ${JSON.stringify(line)}`);
    return JSON.parse(answer.value);
  };
  const ready = await lines.next();
  if (ready.done) throw new Error('Go streaming host exited before it was ready');
  return {
    name: 'go-plugin',
    rate: async (n, size) => (await command(`count ${n} ${size}`)).rate,
    pings: async (k) => (await command(`ping ${k}`)).ms,
    // EOF on stdin: the host ends its plugin, then itself.
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
