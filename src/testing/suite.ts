import type { Contract } from '../contracts/contract.js';
import type { LatestClient } from '../launch/options.js';

/** One thing every driver of a type must do. */
export interface ConformanceCase<C extends Contract> {
  /** Says what holds, as a test name does. */
  name: string;
  /** Calls the driver and throws (a ConformanceFailure) when it does not hold. */
  run(client: LatestClient<C>): Promise<void>;
}

/** What every driver of one type must do, given the data the suite describes. */
export interface ConformanceSuite<C extends Contract = Contract> {
  /** The driver type it checks. */
  type: string;
  /** The data a driver must hold for the suite (how to configure it). */
  requires: string;
  cases: ReadonlyArray<ConformanceCase<C>>;
}

/** How one case went. */
export interface CaseResult {
  name: string;
  ok: boolean;
  /** Why it failed. */
  error?: string;
}

/** Runs every case against a client, in order; a failing case does not stop the others. */
export async function runSuite<C extends Contract>(
  suite: ConformanceSuite<C>,
  client: LatestClient<C>,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of suite.cases) {
    try {
      await c.run(client);
      results.push({ name: c.name, ok: true });
    } catch (err) {
      results.push({
        name: c.name,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return results;
}
