import { Status } from '../status.js';
import type { Verdict } from './security.js';

/**
 * Request bytes held by calls in flight, per client connection and in all, so that no
 * client (and no crowd of them) can make the gateway and its drivers hold more than the
 * operator allowed: a call past either limit is RESOURCE_EXHAUSTED before it is relayed.
 */
export class MemoryBudget {
  #byClient = new Map<string, number>();
  #total = 0;

  constructor(
    private readonly perClient: number,
    private readonly overall: number,
  ) {}

  /** Counts `bytes` against `client`, or says why not; `release` gives them back. */
  take(client: string, bytes: number): { verdict: Verdict; release: () => void } {
    const held = this.#byClient.get(client) ?? 0;
    if (held + bytes > this.perClient)
      return {
        verdict: exhausted(
          `one client may have at most ${this.perClient} bytes of requests in flight`,
        ),
        release: () => {},
      };
    if (this.#total + bytes > this.overall)
      return {
        verdict: exhausted(
          `this gateway holds at most ${this.overall} bytes of requests in flight`,
        ),
        release: () => {},
      };
    this.#byClient.set(client, held + bytes);
    this.#total += bytes;
    let released = false;
    return {
      verdict: undefined,
      release: () => {
        if (released) return;
        released = true;
        this.#total -= bytes;
        const left = (this.#byClient.get(client) ?? bytes) - bytes;
        if (left > 0) this.#byClient.set(client, left);
        else this.#byClient.delete(client);
      },
    };
  }
}

const exhausted = (details: string): Verdict => ({ code: Status.RESOURCE_EXHAUSTED, details });
