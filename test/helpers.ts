import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { expect, inject, onTestFinished } from 'vitest';
import type { Contract } from '../src/contracts/contract.js';
import { launchDriver, type Driver } from '../src/launch/driver.js';
import type { Logger } from '../src/launch/logger.js';
import type { DriverOptions } from '../src/launch/options.js';
import { pidAlive } from '../src/pid.js';
import type { LogFields, LogLevel } from '../src/protocol/hclog.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The file the end-of-run leak check reads process groups from (test/global-setup.ts). */
    groupsFile: string;
    /** Where each worker names the test it runs (test/running-marker.ts). */
    runningFolder: string;
  }
}

export interface Captured {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** A logger that keeps what it is given. */
export function captureLogger(): Logger & { entries: Captured[] } {
  const entries: Captured[] = [];
  return {
    entries,
    log: (level, message, fields) => void entries.push({ level, message, fields }),
  };
}

/** True while `pid` runs; a zombie counts as gone. */
export const isAlive = pidAlive;

/**
 * Polls `check` every `every` ms (default 20) until it is true, or fails after `ms`; no
 * fixed sleeps. `what` may be a function, to put the last thing seen in the error.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string | (() => string),
  every = 20,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end)
      throw new Error(
        `timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Awaits a promise that must reject and returns its error, checked to be an `type` (by
 * default any Error). Replaces `.catch((e) => e)`, which lets a promise that fulfils pass
 * its value on as if it were the error.
 */
export async function expectRejection<E extends Error = Error>(
  promise: PromiseLike<unknown>,
  type?: abstract new (...args: never[]) => E,
): Promise<E> {
  const outcome = await Promise.resolve(promise).then(
    (value) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (!outcome.rejected)
    throw new Error(`expected a rejection, got a value: ${inspect(outcome.value, { depth: 2 })}`);
  expect(outcome.error).toBeInstanceOf(type ?? Error);
  return outcome.error as E;
}

/**
 * Notes `pid` as the leader of a process group the tests started (drivers are spawned
 * detached, so each leads its own), for the end-of-run check that nothing of that group
 * is left, grandchildren included. A pid that leads no group is harmless: no group can
 * have its number.
 */
export function recordGroup(pid: number | undefined): void {
  const file = inject('groupsFile');
  if (pid !== undefined && file) appendFileSync(file, `${pid}\n`);
}

/**
 * Launches a driver that is closed when the test ends; the test then fails if its process
 * is still alive, and the end-of-run check fails the run if anything of its process group is.
 */
export function useDriver<C extends Contract>(
  options: Omit<DriverOptions<C>, 'logger'> & { logger?: Logger },
): Driver<C> {
  const driver = launchDriver({ logger: captureLogger(), ...options } as DriverOptions<C>);
  onTestFinished(async () => {
    recordGroup(driver.pid);
    await driver.close();
    const pid = driver.pid;
    if (pid !== undefined)
      expect(isAlive(pid), `driver ${options.name} (pid ${pid}) still running after close`).toBe(
        false,
      );
  });
  return driver;
}

/** How a process ran: its exit and everything it printed. */
export interface Collected {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Node's spawn options (stdin is always closed, stdout and stderr collected), and how to end the process. */
export interface CollectOptions extends Omit<SpawnOptions, 'stdio'> {
  /**
   * The signal that ends the process when the test finishes while it still runs. Default
   * SIGKILL; SIGTERM lets a driver remove its socket on the way out.
   */
  endSignal?: NodeJS.Signals;
  /** Where spawnUntil looks for its pattern. Default stdout. */
  on?: 'stdout' | 'stderr';
}

/** A process started by {@link spawnUntil}, past the line it waited for. */
export interface Running {
  /** The match of the pattern in stdout. */
  match: RegExpExecArray;
  /** The process: `kill` it to end it before the test does. */
  child: ChildProcess;
  /** Settles once the process has exited and its pipes are closed. */
  done: Promise<Collected>;
}

function launch(
  file: string,
  args: readonly string[],
  { endSignal = 'SIGKILL', on: _on, ...options }: CollectOptions,
): {
  child: ChildProcess;
  done: Promise<Collected>;
  stdout: () => string;
  stderr: () => string;
} {
  const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Collected>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  onTestFinished(async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill(endSignal);
      await exited;
    }
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/**
 * Runs `file` with `args` to its end and resolves with its exit and output. Call it inside
 * a test: a process still running when the test finishes is killed (see `endSignal`).
 */
export function spawnCollect(
  file: string,
  args: readonly string[] = [],
  options: CollectOptions = {},
): Promise<Collected> {
  return launch(file, args, options).done;
}

/**
 * Starts `file` like {@link spawnCollect} and resolves once its stdout matches `pattern`
 * (for example a handshake or a "listening on" line); rejects with its stderr if it ends first.
 */
export async function spawnUntil(
  file: string,
  args: readonly string[],
  pattern: RegExp,
  options: CollectOptions = {},
): Promise<Running> {
  const launched = launch(file, args, options);
  const { child, done } = launched;
  const stream = options.on ?? 'stdout';
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const look = () => {
      const m = pattern.exec(launched[stream]());
      if (m) {
        child[stream]!.off('data', look);
        resolve(m);
      }
    };
    child[stream]!.on('data', look);
    done.then(
      (r) =>
        reject(
          new Error(
            `${file} ended (exit code ${r.code}, signal ${r.signal}) before printing ${pattern}; stderr:\n${r.stderr}`,
          ),
        ),
      reject,
    );
  });
  return { match, child, done };
}

/** Go, protoc, protoc-gen-go and Debian's go-plugin: what the Go interop tests build with (.ci/run installs them). */
export const hasGoToolchain = (() => {
  try {
    execFileSync(
      'sh',
      [
        '-c',
        'command -v go && command -v protoc && command -v protoc-gen-go && test -d /usr/share/gocode/src/github.com/hashicorp/go-plugin',
      ],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  }
})();

/** Requests sent one at a time, when the test says so: for ping-pong, and for streams that stay open. */
export function requestQueue<T>(): { requests: AsyncIterable<T>; send(v: T): void; end(): void } {
  const queue: Array<IteratorResult<T>> = [];
  let wake: (() => void) | undefined;
  const push = (r: IteratorResult<T>) => (queue.push(r), wake?.());
  return {
    requests: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (!queue.length) await new Promise<void>((r) => (wake = r));
          const r = queue.shift()!;
          if (r.done) return;
          yield r.value;
        }
      },
    },
    send: (value) => push({ value, done: false }),
    end: () => push({ value: undefined, done: true }),
  };
}

/** Every item of an async iterable (a response stream), in order. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/** `concurrency` callers in a loop until `stop()`; what succeeded, and every failure. */
export function load(call: () => Promise<unknown>, concurrency = 64) {
  let stopped = false;
  const result = { ok: 0, failures: [] as Error[] };
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stopped) {
        try {
          await call();
          result.ok++;
        } catch (err) {
          if (result.failures.length < 100) result.failures.push(err as Error);
          // A call that fails at once must not starve the event loop (timers, health checks).
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }),
  );
  return {
    result,
    /** Resolves once `n` more calls have succeeded. */
    more: (n: number) => {
      const target = result.ok + n;
      return waitFor(
        () => result.ok >= target,
        30_000,
        () => `${n} more calls (at ${result.ok}, failures ${result.failures.length})`,
      );
    },
    stop: async () => {
      stopped = true;
      await done;
      return result;
    },
  };
}

/**
 * Opens a bidi echo stream, has one tick echoed (so the driver's handler runs), leaves a
 * read pending on the now quiet stream and returns the iterator. Resolves with what the
 * pending read got and whether return() and that read settled before the event loop
 * turned once: then neither waited for the peer, whatever the machine's load (a wall
 * clock would measure the scheduler too).
 */
export async function leaveQuietStream(
  echo: (requests: AsyncIterable<{ i: number }>) => AsyncIterable<{ i: number }>,
): Promise<{ atOnce: boolean; pending: IteratorResult<unknown> }> {
  const { requests, send } = requestQueue<{ i: number }>();
  const it = echo(requests)[Symbol.asyncIterator]();
  send({ i: 1 });
  expect((await it.next()).value).toMatchObject({ i: 1 });
  const read = it.next();
  let turned = false;
  setImmediate(() => (turned = true));
  await it.return!();
  const pending = await read;
  return { atOnce: !turned, pending };
}

/**
 * Runs the CLI in this process, as `driverkit ARGV...` would in `cwd` (the tests of one
 * file run one at a time, so the process's folder is theirs), with what it writes to
 * stdout and stderr. Cheaper than a process per case; a few tests still spawn the shipped
 * executable.
 */
export async function runCli(
  argv: string[],
  cwd = process.cwd(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { run } = await import('../src/cli/run.js');
  const before = process.cwd();
  process.chdir(cwd);
  let stdout = '';
  let stderr = '';
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await run(argv), stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.chdir(before);
  }
}

/**
 * A counter driver at `path` behind a gateway of its own, and a client of that gateway
 * from the library's `dial()`: what a gateway's user calls. Closed at test end.
 */
export async function counterThroughGateway(path: string, env: Record<string, string>) {
  const [{ openHost }, { startGateway }, { dial }, { createClient }, { counter }] =
    await Promise.all([
      import('../src/host/host.js'),
      import('../src/gateway/gateway.js'),
      import('../src/launch/dial.js'),
      import('../src/rpc/client.js'),
      import('./fixtures/gen/contracts/counter.js'),
    ]);
  const host = await openHost({
    config: { drivers: { c: { type: 'counter', driver: path, env } } },
    contracts: [counter],
    logger: captureLogger(),
  });
  onTestFinished(() => host.close());
  const gateway = await startGateway(host, '127.0.0.1:0');
  onTestFinished(() => gateway.close());
  const channel = dial({ network: 'tcp', address: gateway.address });
  onTestFinished(() => channel.close());
  return createClient(counter.versions[1], channel.invoke);
}

/** `driverkit serve`'s gateway in front of one interop driver, on loopback TCP; both closed at test end. */
export async function interopGateway() {
  const [{ startGateway }, { interop }, { BIN }] = await Promise.all([
    import('../src/gateway/gateway.js'),
    import('./fixtures/gen/contracts/interop.js'),
    import('./paths.js'),
  ]);
  const driver = useDriver({ name: 'interop', path: BIN.interop, contract: interop });
  await driver.ready;
  const gateway = await startGateway(
    {
      instances: () => [{ name: 'interop', services: [interop.versions[1]] }],
      invoke: (_name, call) => driver.invoke(call),
      isReady: () => driver.state === 'ready',
    },
    '127.0.0.1:0',
  );
  onTestFinished(() => gateway.close());
  return { address: gateway.address, driver };
}
