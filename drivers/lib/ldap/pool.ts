// A few bound LDAP connections, used in turn. A connection found dead (the server restarted)
// is replaced and the operation tried again on a new one, so a restart costs no call; a
// server that cannot be reached fails the operation as UNAVAILABLE by its deadline.
import { setMaxListeners } from 'node:events';
import { Client } from 'ldapts';
import type { LdapConfig } from './config.js';

/** The server could not be reached or dropped the connection: UNAVAILABLE to the caller. */
export class Unreachable extends Error {}

/** Errors of the connection itself, not of the operation (a bad filter, no such object). */
function connectionLost(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; name?: string };
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN'].includes(
      String(e.code),
    ) ||
    // ldapts' "Operation timed out" too: a hung server's connection is as good as lost.
    /connection (closed|reset)|timed out|socket|not connected|timeout/i.test(e.message ?? '') ||
    e.name === 'TimeoutError'
  );
}

/** The server refused the service account's bind: the operator's to fix, not a retry's. */
export class BindRefused extends Error {}

/** The caller cancelled the call, or its deadline passed: nobody waits for the answer. */
export class Cancelled extends Error {}

/**
 * When an operation must be done: `at`, the driver's `timeout_ms` from the call's start,
 * or sooner when `signal` fires (the caller cancelled, or its own deadline passed).
 */
export interface Deadline {
  at: number;
  signal?: AbortSignal;
}

/**
 * The signal a call's LDAP work runs under: it fires when the caller cancels or its deadline
 * passes (`caller`), and when `abort()` is called once the call is answered, so that
 * searches still running for it (FindUsers' group searches) start nothing more. Each LDAP
 * step listens on it: dozens at once, so no listener limit.
 */
export function workSignal(caller: AbortSignal): AbortController {
  const work = new AbortController();
  setMaxListeners(0, work.signal);
  if (caller.aborted) work.abort();
  else caller.addEventListener('abort', () => work.abort(), { once: true, signal: work.signal });
  return work;
}

/** Throws Cancelled once the caller has gone: no more LDAP work is started for it. */
export function checkCancelled(deadline: Deadline): void {
  if (deadline.signal?.aborted) throw new Cancelled('the call was cancelled');
}

/** Seconds left before `deadline`, as a search's time limit: the server stops there too. */
export const secondsLeft = (deadline: Deadline) =>
  Math.max(1, Math.ceil((deadline.at - Date.now()) / 1000));

/** The longest secret sent to a bind: more is no password anyone has, and servers drop it. */
const MAX_SECRET_BYTES = 1024;

export class Pool {
  readonly #clients: Array<Promise<Client> | undefined>;
  /** Closed by a newer Configure: calls still using it fail rather than reconnect. */
  #closed = false;
  #next = 0;
  readonly #tlsOptions;
  /** Connections whose TLS socket closed (after StartTLS ldapts no longer sees that). */
  readonly #dead = new WeakSet<Client>();

  constructor(private readonly config: LdapConfig) {
    this.#clients = new Array(config.poolSize).fill(undefined);
    this.#tlsOptions = {
      rejectUnauthorized: !config.insecure,
      ...(config.caPem ? { ca: [config.caPem] } : {}),
    };
  }

  /**
   * Runs `op` on a bound connection. A connection found dead is replaced and `op` tried
   * again, with a short backoff while the server cannot be reached (it restarts), until
   * `deadline.at`: then Unreachable. Its caller gone (`deadline.signal`): Cancelled at
   * once, and nothing more is started. Only reads run here, so a repeat is harmless.
   */
  async run<T>(op: (client: Client) => Promise<T>, deadline: Deadline): Promise<T> {
    const slot = this.#next++ % this.#clients.length;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed)
        throw new Unreachable('the connection pool was closed by a newer Configure');
      checkCancelled(deadline);
      // The connection is shared by every call on this slot: it gets a whole timeout_ms of
      // its own, never the time one caller has left.
      const pending = this.#client(slot, Date.now() + this.config.timeoutMs);
      let got = false;
      try {
        const client = await withDeadline(pending, deadline);
        got = true;
        // ldapts reconnects on its own, unbound (anonymous): a connection it lost must be
        // ours to make again, and bind.
        if (!client.isConnected || this.#dead.has(client))
          throw new Unreachable('connection closed');
        const running = op(client);
        // Found lost after its caller left (ldapts' own timeout on a hung server): the
        // connection is still dropped, or the next call would wait on it in turn.
        running.catch((err) => connectionLost(err) && this.#drop(slot, pending));
        return await withDeadline(running, deadline);
      } catch (err) {
        if (err instanceof Cancelled) throw err;
        if (!(err instanceof Unreachable) && !connectionLost(err)) throw err;
        // Only the connection this operation ran on: another call may have made the slot's
        // new one meanwhile, and dropping that one too opened connections by the hundred.
        // One still being made, which this caller stopped waiting for, is the others' to use.
        if (got) this.#drop(slot, pending);
        const wait = Math.min(25 * 2 ** attempt, 250);
        if (Date.now() + wait >= deadline.at)
          throw err instanceof Unreachable ? err : new Unreachable((err as Error).message);
        if (attempt > 0) await withDeadline(sleep(wait), deadline);
      }
    }
  }

  /** Whether a connection can be made and bound now (for health). */
  async check(at: number): Promise<boolean> {
    return this.run((c) => c.search('', { scope: 'base', filter: '(objectClass=*)' }), { at }).then(
      () => true,
      () => false,
    );
  }

  /**
   * Whether `password` is `dn`'s: a bind on a connection of its own (never a pooled one,
   * which stays bound as the service account). False for invalid credentials; Unreachable
   * when the server cannot be reached.
   */
  async verify(dn: string, password: string, deadline: Deadline): Promise<boolean> {
    // An empty password is an unauthenticated bind (RFC 4513 5.1.2), which servers accept.
    if (!password || Buffer.byteLength(password) > MAX_SECRET_BYTES) return false;
    checkCancelled(deadline);
    if (Date.now() >= deadline.at) throw new Unreachable('no time left for the bind');
    const client = this.#newClient(deadline.at);
    try {
      const bind = async () => {
        if (this.config.starttls) await client.startTLS(this.#tlsOptions);
        await client.bind(dn, password);
      };
      await withDeadline(bind(), deadline);
      return true;
    } catch (err) {
      if (err instanceof Cancelled || err instanceof Unreachable) throw err;
      // Any LDAP answer (invalid credentials, unwilling to perform, ...) refuses; only a
      // connection that failed says nothing about the secret.
      if (typeof (err as { code?: unknown }).code === 'number') return false;
      throw new Unreachable(`cannot reach ${this.config.uri}: ${(err as Error).message}`);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#clients.map(async (c, i) => {
        this.#clients[i] = undefined;
        await (await c?.catch(() => undefined))?.unbind().catch(() => {});
      }),
    );
  }

  #drop(slot: number, failed: Promise<Client>): void {
    if (this.#clients[slot] === failed) this.#clients[slot] = undefined;
    void failed.then((client) => client.unbind().catch(() => {})).catch(() => {});
  }

  #client(slot: number, deadline: number): Promise<Client> {
    let c = this.#clients[slot];
    if (!c) {
      c = this.#connect(deadline);
      this.#clients[slot] = c;
      c.catch(() => {
        if (this.#clients[slot] === c) this.#clients[slot] = undefined;
      });
    }
    return c;
  }

  #newClient(deadline: number): Client {
    const { config } = this;
    return new Client({
      url: config.uri,
      timeout: config.timeoutMs,
      connectTimeout: Math.max(1, Math.min(config.timeoutMs, deadline - Date.now())),
      tlsOptions: config.uri.startsWith('ldaps:') ? this.#tlsOptions : undefined,
      strictDN: false,
    });
  }

  async #connect(deadline: number): Promise<Client> {
    const { config } = this;
    const client = this.#newClient(deadline);
    // Shared by every call that waits on this slot: bounded by time, never by one caller's
    // cancel. ldapts' own timeout is the whole timeout_ms per step; this is the time left.
    const setup = async () => {
      if (config.starttls) {
        await client.startTLS(this.#tlsOptions);
        // ldapts keeps its close handler on the plain socket, which no longer reads once TLS
        // wraps it: a server that restarts would leave this connection timing out each call.
        const secure = (client as unknown as { socket?: NodeJS.EventEmitter }).socket;
        const dead = () => this.#dead.add(client);
        secure?.once('close', dead);
        secure?.once('end', dead);
      }
      if (config.bindDn) await client.bind(config.bindDn, config.bindPassword);
      // Anonymous, in plaintext: ldapts connects on a first operation; make it one now.
      else if (!config.starttls)
        await client.search('', { scope: 'base', filter: '(objectClass=*)' });
    };
    try {
      await withDeadline(setup(), { at: deadline });
      return client;
    } catch (err) {
      await client.unbind().catch(() => {});
      // A refused bind is the operator's to fix: say so, not "unreachable".
      if (typeof (err as { code?: unknown }).code === 'number')
        throw new BindRefused(
          `bind as ${JSON.stringify(config.bindDn)} refused: ${(err as Error).message}`,
        );
      throw new Unreachable(`cannot reach ${config.uri}: ${(err as Error).message}`);
    }
  }
}

/**
 * `op`, or Unreachable once `deadline.at` passes, or Cancelled once its signal fires: each
 * operation gets the call's time left, not ldapts' whole timeout per try. The connection
 * it ran on is then dropped (run()).
 */
function withDeadline<T>(op: Promise<T>, deadline: Deadline): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const { signal } = deadline;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Unreachable('no answer from the LDAP server within the call’s deadline')),
      Math.max(0, deadline.at - Date.now()),
    );
    onAbort = () => reject(new Cancelled('the call was cancelled'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([op, late]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
