// The connections a server holds, and who gives way when it is full: a bounded resource
// that neither a flood of strangers nor one peer may take from the host and proven clients.
import type { ServerHttp2Session } from 'node:http2';
import type { ConnectionPeer } from './server-call.js';
import { peerKeyOf } from './server-connections.js';

/**
 * What the server knows of one connection: whether it proved to be the host's, its calls
 * open, and how many of those still wait for their request (half-open).
 */
export interface SessionState {
  host: boolean;
  open: number;
  waiting: number;
  peer: ConnectionPeer;
  /** Its peer, as the limits per peer count it. */
  peerKey: string;
  /** A call on it was answered OK (a health check, say): kept before connections that were not. */
  proven: boolean;
  /** Request bytes its calls hold. */
  held: number;
  /** When request bytes last arrived on it (Date.now()): a busy connection is not half-open. */
  received: number;
}

export class ConnectionTable {
  /** In the order they connected, so the oldest is the first to give way. */
  readonly #sessions = new Map<ServerHttp2Session, SessionState>();

  constructor(private readonly limits: { max: number; perPeer: number; evictBusy: boolean }) {}

  get(session: ServerHttp2Session): SessionState | undefined {
    return this.#sessions.get(session);
  }

  sessions(): ServerHttp2Session[] {
    return [...this.#sessions.keys()];
  }

  /**
   * Takes a new connection from `peer`, once one held gives way if all are taken or all its
   * peer may have (see #victim); its state, or undefined when none may give way (the
   * newcomer is then destroyed). A connection leaves the table when it closes.
   */
  admit(session: ServerHttp2Session, peer: ConnectionPeer): SessionState | undefined {
    const state: SessionState = {
      ...{ host: false, open: 0, waiting: 0, proven: false, held: 0, received: 0 },
      peer,
      peerKey: peerKeyOf(peer),
    };
    const { max, perPeer } = this.limits;
    const mine = (s: SessionState) => s.peerKey === state.peerKey;
    // A peer at its share makes room among its own first, full table or not: it must never
    // grow past its share by pushing another peer's connection out.
    const full =
      perPeer < max && this.#count(mine) >= perPeer
        ? this.#victim(mine)
        : this.#sessions.size >= max
          ? this.#victim()
          : null;
    if (full === undefined) {
      session.destroy();
      return undefined;
    }
    if (full) {
      full.destroy();
      this.#sessions.delete(full);
    }
    this.#sessions.set(session, state);
    session.once('close', () => this.#sessions.delete(session));
    return state;
  }

  #count(which: (s: SessionState) => boolean): number {
    let n = 0;
    for (const state of this.#sessions.values()) if (which(state)) n++;
    return n;
  }

  /**
   * The connection to close for a newcomer, among `which`: never the host's; the oldest
   * idle one first, then one whose every call still waits for its request (a peer that
   * opens calls and never finishes them must not lock real clients out), those that never
   * had a call answered OK before those that did; then (evictBusy) any other.
   */
  #victim(which: (s: SessionState) => boolean = () => true): ServerHttp2Session | undefined {
    const best: Array<ServerHttp2Session | undefined> = [];
    for (const [session, state] of this.#sessions) {
      if (state.host || !which(state)) continue;
      const busy = state.open > 0 && state.waiting < state.open;
      if (busy && !this.limits.evictBusy) continue;
      const tier = (busy ? 4 : 0) + (state.proven ? 2 : 0) + (state.open > 0 && !busy ? 1 : 0);
      if (tier === 0) return session;
      best[tier] ??= session;
    }
    return best.find((s) => s !== undefined);
  }
}
