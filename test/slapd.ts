// A real OpenLDAP server for a test (see slapd-core.ts): stopped, and its folder removed,
// when the test ends. `stop`/`start` restart it on the same ports and data, as an
// operator's restart would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { type Running, spawnUntil } from './helpers.js';
import { prepareSlapd, SLAPD, type SlapdOptions, slapdArgs } from './slapd-core.js';

export {
  ADMIN_DN,
  ADMIN_PASSWORD,
  BASE_DN,
  bulkLdif,
  fixtureLdif,
  hasSlapd,
  userLdif,
} from './slapd-core.js';

export interface Slapd {
  /** ldap://127.0.0.1:PORT */
  url: string;
  /** ldaps://127.0.0.1:PORT (the test CA signed its certificate, for 127.0.0.1 and localhost). */
  ldapsUrl: string;
  /** The test CA (PEM file). */
  ca: string;
  dir: string;
  /** Stops the server (SIGTERM), and resolves when it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Sends the running server a signal (SIGSTOP hangs it, SIGCONT wakes it). */
  signal(sig: NodeJS.Signals): void;
  /** The searches the server has been sent so far (from its `-d stats` log). */
  searches(): number;
  /** The connections it has accepted so far. */
  connections(): number;
}

/** Starts slapd with `ldif` (entries under BASE_DN, which this adds) loaded. */
export async function startSlapd(ldif: string, options?: SlapdOptions): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'driverkit-slapd-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const s = await prepareSlapd(dir, ldif, options);
  let running: Running | undefined;
  let searches = 0;
  let connections = 0;
  const start = async () => {
    running = await spawnUntil(SLAPD, slapdArgs(s), /slapd starting/, {
      on: 'stderr',
      endSignal: 'SIGTERM',
    });
    // One "SRCH base=" line a search; a line may be split across chunks, so count whole ones.
    let partial = '';
    running.child.stderr!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.includes(' SRCH base=')) searches++;
        else if (line.includes(' ACCEPT from ')) connections++;
      }
    });
  };
  const stop = async () => {
    const r = running;
    running = undefined;
    if (!r) return;
    r.child.kill('SIGTERM');
    await r.done;
  };
  await start();
  const signal = (sig: NodeJS.Signals) => void running?.child.kill(sig);
  // A server left stopped would hold its end of the test.
  onTestFinished(() => signal('SIGCONT'));
  return {
    url: s.url,
    ldapsUrl: s.ldapsUrl,
    ca: s.ca,
    dir,
    start,
    stop,
    signal,
    searches: () => searches,
    connections: () => connections,
  };
}
