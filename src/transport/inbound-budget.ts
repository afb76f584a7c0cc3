// Request bytes a server holds, counted as they arrive: a message still coming in, or in
// but not yet taken by its handler. node:http2 grants a connection's window back as soon as
// bytes are read, and a peer may open many streams each with a window of its own, so flow
// control alone bounds nothing; this does. A call whose bytes would pass a limit is refused
// (RESOURCE_EXHAUSTED) and its stream reset, which frees what it held.

const MIB = 1 << 20;

/** How many request bytes may be held at once, per connection, per peer and in all. */
export interface InboundLimits {
  perConnection: number;
  perPeer: number;
  total: number;
  /** How the limits are named to a peer that passes one (the settings that change them). */
  names?: { perConnection?: string; perPeer?: string; total?: string };
}

/**
 * Defaults under a driver pod's 256 MiB. A flood of unfinished messages makes a process
 * touch about three times what it holds (what it read for the calls it refused, until
 * collected): 64 MiB held peaked at 190 MiB over a 50 MiB start.
 */
export const DEFAULT_INBOUND_LIMITS: InboundLimits = {
  perConnection: 32 * MIB,
  perPeer: 32 * MIB,
  total: 64 * MIB,
};

/** What one connection holds (kept in the server's state of it). */
export interface HeldBytes {
  held: number;
}

/** One call's bytes: `add` as they arrive, `release` as its handler takes them, `close` at its end. */
export interface CallBytes {
  /** Counts `n` more bytes; a reason when that passes a limit (nothing is counted then). */
  add(n: number): string | undefined;
  release(n: number): void;
  close(): void;
}

const UNCOUNTED: CallBytes = { add: () => undefined, release: () => {}, close: () => {} };

export class InboundBudget {
  #total = 0;
  #byPeer = new Map<string, number>();

  constructor(readonly limits: InboundLimits = DEFAULT_INBOUND_LIMITS) {}

  /** Bytes held now, in all (for tests and metrics). */
  get held(): number {
    return this.#total;
  }

  /**
   * An account for one call on `connection` from `peer`. A connection proven to be the
   * driver's own host (its secret) is not counted: the process is its to size.
   */
  open(connection: HeldBytes, peer: string, trusted = false): CallBytes {
    if (trusted) return UNCOUNTED;
    const { perConnection, perPeer, total, names = {} } = this.limits;
    let mine = 0;
    const move = (n: number) => {
      mine += n;
      connection.held += n;
      this.#total += n;
      const now = (this.#byPeer.get(peer) ?? 0) + n;
      if (now > 0) this.#byPeer.set(peer, now);
      else this.#byPeer.delete(peer);
    };
    const over = (what: string, limit: number, name?: string) =>
      `requests held for ${what} would pass ${limit} bytes${name ? ` (${name})` : ''}: wait for calls to finish, or send smaller messages`;
    return {
      add: (n) => {
        if (connection.held + n > perConnection)
          return over('one connection', perConnection, names.perConnection);
        if ((this.#byPeer.get(peer) ?? 0) + n > perPeer)
          return over(`one client (${peer})`, perPeer, names.perPeer);
        if (this.#total + n > total) return over('all clients', total, names.total);
        move(n);
        return undefined;
      },
      release: (n) => move(-Math.min(n, mine)),
      close: () => move(-mine),
    };
  }
}
