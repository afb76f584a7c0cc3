// A reload swaps a new process in while calls still run on the old one: the old one closes
// only once they have ended (or its drain time is up), so a swap fails no call that could
// finish. Calls are counted per process here, where the supervisor sends them.
import type { Driver } from '../launch/driver.js';
import type { Call } from '../rpc/client.js';

/** The error of a call still running on a process closed by a drain that ran out of time. */
export type Cut = (method: string) => Error;

interface Open {
  count: number;
  /** Ends each open response stream with an error, for a process closed while they run. */
  cuts: Set<(cut: Cut) => void>;
  idle?: () => void;
}

/** The calls in flight on each driver process. */
export class InFlight {
  readonly #open = new Map<Driver, Open>();
  /** Processes whose drain ran out of time: their calls fail with this error instead. */
  readonly #cut = new WeakMap<Driver, Cut>();

  /** Sends `call` to `driver`, counting it until it ends (a stream: until its responses do). */
  run(driver: Driver, call: Call): Promise<unknown> {
    const open = this.#of(driver);
    open.count++;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (--open.count > 0) return;
      this.#open.delete(driver);
      open.idle?.();
    };
    let sent: Promise<unknown>;
    try {
      sent = driver.invoke(call);
    } catch (err) {
      sent = Promise.reject(err);
    }
    return sent.then(
      (reply) => {
        if (!call.responseStream) end();
        return call.responseStream
          ? cuttable(reply as AsyncIterable<unknown>, call.path, open.cuts, end)
          : reply;
      },
      (err: unknown) => {
        end();
        const cut = this.#cut.get(driver);
        throw cut ? cut(call.path) : err;
      },
    );
  }

  /**
   * Resolves true once no call runs on `driver`, or false after `ms`; then open response
   * streams end with `cut`'s error, and so does every call on `driver` that fails from now
   * on (the process is about to close), so their callers hear why, whatever the process does.
   */
  async drained(driver: Driver, ms: number, cut: Cut): Promise<boolean> {
    const open = this.#open.get(driver);
    if (!open) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = await new Promise<boolean>((resolve) => {
      open.idle = () => resolve(true);
      timer = setTimeout(() => resolve(false), ms);
    }).finally(() => clearTimeout(timer));
    if (idle) return true;
    this.#cut.set(driver, cut);
    for (const c of open.cuts) c(cut);
    return false;
  }

  #of(driver: Driver): Open {
    let open = this.#open.get(driver);
    if (!open) this.#open.set(driver, (open = { count: 0, cuts: new Set() }));
    return open;
  }
}

/** The responses, calling `end` once when they end, fail or are left; `cuts` can end them early. */
function cuttable(
  responses: AsyncIterable<unknown>,
  method: string,
  cuts: Set<(cut: Cut) => void>,
  end: () => void,
): AsyncIterable<unknown> {
  const inner = responses[Symbol.asyncIterator]();
  let cutError: Error | undefined;
  /** Rejects the read in progress, if any: a cut must not wait for the old process's next message. */
  let rejectRead: ((err: Error) => void) | undefined;
  const finish = () => {
    cuts.delete(cut);
    end();
  };
  const cut = (make: Cut) => {
    const err = make(method);
    cutError = err;
    rejectRead?.(err);
    finish();
    // Cancels the call on the old process, which would otherwise run until that one closes.
    void Promise.resolve(inner.return?.()).catch(() => {});
  };
  cuts.add(cut);
  const iterator: AsyncIterator<unknown> = {
    next: () => {
      if (cutError) return Promise.reject(cutError);
      // One promise a read, settled by the read or by a cut, whichever comes first.
      return new Promise((resolve, reject) => {
        rejectRead = reject;
        inner.next().then(
          (r) => {
            rejectRead = undefined;
            if (r.done) finish();
            resolve(r);
          },
          (err: unknown) => {
            rejectRead = undefined;
            finish();
            reject(err);
          },
        );
      });
    },
    return: async (value?: unknown) => {
      finish();
      return inner.return ? inner.return(value) : { done: true, value };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
