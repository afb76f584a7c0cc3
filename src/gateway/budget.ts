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

const exhausted = (details: string): Verdict => ({ code: Status.RESOURCE_EXHAUSTED, details });
