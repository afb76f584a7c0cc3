import { join } from 'node:path';
import { userprovider } from '../../src/contracts/userprovider.js';
import { RpcError } from '../../src/errors.js';
import { startDriver } from '../../src/launch/driver.js';
import { Status, statusName, type StatusCode } from '../../src/status.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, percentile } from '../stats.js';

const ROUNDS = 10;
const CALLS_PER_ROUND = 100;
/**
 * Each kind of call stops a round early past this: an UNAVAILABLE that costs half a second
 * would otherwise make the row take minutes. Both kinds get the same budget per round.
 */
const ROUND_BUDGET_MS = 600;

interface Kind {
  id: string;
  status: StatusCode;
}

/**
 * Per-call latency of an UNAVAILABLE that a live, healthy driver sends as its answer (its
 * backend is down), against a NOT_FOUND from the same driver: the host should treat a status
 * as a status, and not as a sign that the driver is dying, unless it is.
 */
export async function unavailable(): Promise<Result[]> {
  const driver = await startDriver({
    name: 'status',
    path: join(BENCH_BIN, 'status-driver'),
    contract: userprovider,
    logger: { log: () => {} },
  });
  try {
    /** One call, timed with its rejection caught; any other outcome fails the row. */
    const call = async (kind: Kind): Promise<number> => {
      const t0 = performance.now();
      const outcome = await driver.client.getUser({ userId: { opaqueId: kind.id } }).then(
        (reply) => reply,
        (err: unknown) => err,
      );
      const ms = performance.now() - t0;
      if (!(outcome instanceof RpcError) || outcome.status !== kind.status) {
        throw new Error(
          `unavailable row: expected [${statusName(kind.status)}] for id ${JSON.stringify(kind.id)}, got ${outcome instanceof Error ? outcome.message : JSON.stringify(outcome)}`,
        );
      }
      return ms;
    };
    const round = async (kind: Kind): Promise<number[]> => {
      const out: number[] = [];
      const t0 = performance.now();
      while (out.length < CALLS_PER_ROUND && performance.now() - t0 < ROUND_BUDGET_MS)
        out.push(await call(kind));
      return out;
    };
    const kinds: Kind[] = [
      { id: 'unavailable', status: Status.UNAVAILABLE },
      { id: 'nobody', status: Status.NOT_FOUND },
    ];
    for (const k of kinds) await round(k); // warm-up
    const [unavail, notFound] = (await interleaved(kinds, ROUNDS, round)).map((r) => r.flat());
    // The comparison only holds if the driver answered every call and is still up.
    if (driver.state !== 'ready')
      throw new Error(
        `unavailable row: the driver is ${driver.state} after the calls; it should have stayed up`,
      );
    const note = `${unavail.length} UNAVAILABLE and ${notFound.length} NOT_FOUND calls`;
    return (
      [
        [50, 'p50'],
        [99, 'p99'],
      ] as const
    ).map(
      ([p, label]): Result => ({
        row: 'unavailable',
        metric: `UNAVAILABLE answer ${label}`,
        value: percentile(unavail, p),
        unit: 'ms',
        baseline: { name: `NOT_FOUND ${label}`, value: percentile(notFound, p) },
        // As in the latency row, the target is on p50: a p99 of a few hundred calls is one outlier.
        target: p === 50 ? { max: 1.2, on: 'ratio', label: '≤ 1.2× NOT_FOUND' } : undefined,
        note,
      }),
    );
  } finally {
    await driver.close();
  }
}
