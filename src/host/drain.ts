// A reload swaps a new process in while calls still run on the old one: the old one closes
// only once they have ended (or its drain time is up), so a swap fails no call that could
// finish. Calls are counted per process here, where the supervisor sends them.
import type { Driver } from '../launch/driver.js';
import type { Call } from '../rpc/client.js';

interface Open {
  count: number;
  /** Ends each open response stream with an error, for a process closed while they run. */
  cuts: Set<(err: Error) => void>;
  idle?: () => void;
}

/** The calls in flight on each driver process. */
export class InFlight {
  readonly #open = new Map<Driver, Open>();

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
    if (!call.responseStream) return sent.finally(end);
    return sent.then(
      (responses) => cuttable(responses as AsyncIterable<unknown>, open.cuts, end),
      (err: unknown) => {
        end();
        throw err;
      },
    );
  }

  /**
   * Resolves true once no call runs on `driver`, or false after `ms`; then open response
   * streams are ended with `cut()`'s error, so their readers hear why, whatever the process does.
   */
  async drained(driver: Driver, ms: number, cut: () => Error): Promise<boolean> {
    const open = this.#open.get(driver);
    if (!open) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = await new Promise<boolean>((resolve) => {
      open.idle = () => resolve(true);
      timer = setTimeout(() => resolve(false), ms);
    }).finally(() => clearTimeout(timer));
    if (!idle) for (const c of open.cuts) c(cut());
    return idle;
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
  cuts: Set<(err: Error) => void>,
  end: () => void,
): AsyncIterable<unknown> {
  const inner = responses[Symbol.asyncIterator]();
  let cutError: Error | undefined;
  let rejectCut!: (err: Error) => void;
  const cutNow = new Promise<never>((_, reject) => (rejectCut = reject));
  cutNow.catch(() => {});
  const finish = () => {
    cuts.delete(cut);
    end();
  };
  const cut = (err: Error) => {
    cutError = err;
    rejectCut(err);
    finish();
    // Cancels the call on the old process, which would otherwise run until that one closes.
    void Promise.resolve(inner.return?.()).catch(() => {});
  };
  cuts.add(cut);
  const iterator: AsyncIterator<unknown> = {
    next: async () => {
      if (cutError) throw cutError;
      try {
        const r = await Promise.race([inner.next(), cutNow]);
        if (r.done) finish();
        return r;
      } catch (err) {
        finish();
        throw err;
      }
    },
    return: async (value?: unknown) => {
      finish();
      return inner.return ? inner.return(value) : { done: true, value };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
