import { Status } from '../status.js';
import type { Verdict } from './security.js';

/**
 * Calls relayed at once: in all, per client, per driver and per client of one driver, so
 * that neither one client nor one slow driver can take every slot, and one client cannot
 * take all of a driver's from the others (RESOURCE_EXHAUSTED past any of them).
 */
export class CallSlots {
  #total = 0;
  #byClient = new Map<string, number>();
  #byDriver = new Map<string, number>();
  #byClientDriver = new Map<string, number>();

  constructor(
    private readonly limits: {
      overall: number;
      perClient: number;
      perDriver: number;
      perClientDriver: number;
    },
  ) {}

  /** Takes a slot for `client`'s call to `driver`, or says why not; `release` gives it back. */
  take(client: string, driver: string): { verdict: Verdict; release: () => void } {
    const { overall, perClient, perDriver, perClientDriver } = this.limits;
    const refused = (details: string) => ({ verdict: exhausted(details), release: () => {} });
    const pair = `${client}\0${driver}`;
    if ((this.#byClient.get(client) ?? 0) >= perClient)
      return refused(`one client may have at most ${perClient} calls relayed at once`);
    if ((this.#byClientDriver.get(pair) ?? 0) >= perClientDriver)
      return refused(
        `one client may have at most ${perClientDriver} calls relayed to driver ${JSON.stringify(driver)} at once (max_client_driver_calls)`,
      );
    if ((this.#byDriver.get(driver) ?? 0) >= perDriver)
      return refused(
        `driver ${JSON.stringify(driver)} is relayed at most ${perDriver} calls at once`,
      );
    if (this.#total >= overall)
      return refused(`this gateway relays at most ${overall} calls at once`);
    this.#total++;
    bump(this.#byClient, client, 1);
    bump(this.#byDriver, driver, 1);
    bump(this.#byClientDriver, pair, 1);
    let released = false;
    return {
      verdict: undefined,
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        bump(this.#byClient, client, -1);
        bump(this.#byDriver, driver, -1);
        bump(this.#byClientDriver, pair, -1);
      },
    };
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/**
 * Request bytes held by calls in flight, per client and in all, so that no
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
    bump(this.#byClient, client, bytes);
    this.#total += bytes;
    let released = false;
    return {
      verdict: undefined,
      release: () => {
        if (released) return;
        released = true;
        this.#total -= bytes;
        bump(this.#byClient, client, -bytes);
      },
    };
  }
}

const exhausted = (details: string): Verdict => ({ code: Status.RESOURCE_EXHAUSTED, details });
