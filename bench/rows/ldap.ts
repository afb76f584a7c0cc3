// The LDAP user provider against the same queries made with ldapts in the host itself, on
// one real slapd (test/slapd-core.ts): GetUser p50 and 64-concurrent throughput, and a
// FindUsers over a 10,000-user subtree (time, and the driver's peak RSS).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { userprovider } from '../../src/contracts/userprovider.js';
import { startDriver } from '../../src/launch/driver.js';
import {
  ADMIN_DN,
  ADMIN_PASSWORD,
  BASE_DN,
  bulkLdif,
  fixtureLdif,
  hasSlapd,
  prepareSlapd,
  SLAPD,
  slapdArgs,
} from '../../test/slapd-core.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, median, percentile, throughput, timeEach } from '../stats.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';
const BULK = 10_000;

async function runSlapd(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const s = await prepareSlapd(dir, fixtureLdif() + bulkLdif(BULK));
  // Quiet (-d 0 keeps it in the foreground): stats logging would cost it per operation.
  const args = slapdArgs(s).map((a) => (a === 'stats' ? '0' : a));
  const child = spawn(SLAPD, args, { stdio: 'ignore' });
  // Ready when it accepts a bind.
  for (let i = 0; ; i++) {
    const c = new Client({ url: s.url, connectTimeout: 200 });
    try {
      await c.bind(ADMIN_DN, ADMIN_PASSWORD);
      await c.unbind();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: s.url, child };
}

const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

export async function ldap(): Promise<Result[]> {
  if (!hasSlapd)
    return [{ row: 'ldap', metric: 'skipped: no slapd (.ci/run installs it)', value: 0, unit: '' }];
  const dir = mkdtempSync(join(tmpdir(), 'bench-slapd-'));
  const { url, child } = await runSlapd(dir);
  const config = (base: string, extra = {}) => ({
    uri: url,
    bind_username: ADMIN_DN,
    bind_password: ADMIN_PASSWORD,
    user_base_dn: `ou=${base},${BASE_DN}`,
    group_base_dn: `ou=groups,${BASE_DN}`,
    ...extra,
  });
  const start = async (name: string, c: object) => {
    const d = await startDriver({
      name,
      path: join(BENCH_BIN, 'ldap-driver'),
      contract: userprovider,
      logger: { log: () => {} },
    });
    await d.client.configure({ config: c });
    return d;
  };
  const users = await start('ldap', config('users'));
  const bulk = await start(
    'ldap-bulk',
    config('bulk', { find_limit: 20_000, page_size: 1000, timeout_ms: 60_000 }),
  );
  // The floor: a driver that answers from memory (demo), over the same transport.
  const floor = await startDriver({
    name: 'demo',
    path: join(BENCH_BIN, 'demo-driver'),
    contract: userprovider,
    logger: { log: () => {} },
  });
  const direct = new Client({ url });
  await direct.bind(ADMIN_DN, ADMIN_PASSWORD);
  try {
    const filter = `(&(objectClass=posixAccount)(entryUUID=${EINSTEIN}))`;
    const peers = [
      {
        call: () =>
          users.client.getUser({ userId: { opaqueId: EINSTEIN }, skipFetchingGroups: true }),
      },
      {
        call: () =>
          direct.search(`ou=users,${BASE_DN}`, {
            scope: 'sub',
            filter,
            attributes: ['entryUUID', 'displayName', 'uid', 'mail', 'uidNumber', 'gidNumber'],
            sizeLimit: 2,
          }),
      },
    ];
    peers.push({ call: () => floor.client.getUser({ userId: { opaqueId: EINSTEIN } }) });
    for (const p of peers) await timeEach(200, p.call);
    const lat = (await interleaved(peers, 4, (p) => timeEach(500, p.call))).map((r) =>
      percentile(r.flat(), 50),
    );
    const conc = (await interleaved(peers.slice(0, 2), 4, (p) => throughput(2000, 64, p.call))).map(
      median,
    );
    const findTimes: number[] = [];
    const directTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      const found = await bulk.client.findUsers(
        { query: 'bulk.example', skipFetchingGroups: true },
        { timeout: 120_000 },
      );
      findTimes.push(performance.now() - t);
      if (found.users.length !== BULK) throw new Error(`FindUsers found ${found.users.length}`);
      t = performance.now();
      let n = 0;
      for await (const page of direct.searchPaginated(`ou=bulk,${BASE_DN}`, {
        scope: 'sub',
        filter:
          '(&(objectClass=posixAccount)(|(uid=*bulk.example*)(mail=*bulk.example*)(displayName=*bulk.example*)))',
        paged: { pageSize: 1000 },
      }))
        n += page.searchEntries.length;
      directTimes.push(performance.now() - t);
      if (n !== BULK) throw new Error(`direct search found ${n}`);
    }
    // With groups: a group search per user, 32 at a time, as the driver runs them.
    const groupTimes: number[] = [];
    const directGroupTimes: number[] = [];
    for (let i = 0; i < 2; i++) {
      let t = performance.now();
      const found = await bulk.client.findUsers({ query: 'bulk.example' }, { timeout: 120_000 });
      groupTimes.push(performance.now() - t);
      if (found.users.length !== BULK) throw new Error(`FindUsers found ${found.users.length}`);
      t = performance.now();
      const uids: string[] = [];
      for await (const page of direct.searchPaginated(`ou=bulk,${BASE_DN}`, {
        scope: 'sub',
        filter: '(&(objectClass=posixAccount)(mail=*bulk.example*))',
        attributes: ['uid'],
        paged: { pageSize: 1000 },
      }))
        for (const e of page.searchEntries) uids.push(String(e.uid));
      let next = 0;
      const worker = async () => {
        while (next < uids.length) {
          const uid = uids[next++];
          await direct.search(`ou=groups,${BASE_DN}`, {
            scope: 'sub',
            filter: `(&(objectClass=posixGroup)(memberUid=${uid}))`,
            attributes: ['cn'],
          });
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      directGroupTimes.push(performance.now() - t);
    }
    return [
      {
        row: 'ldap',
        metric: 'GetUser p50 through driverkit vs ldapts in the host',
        value: lat[0],
        unit: 'ms',
        baseline: { name: 'ldapts direct', value: lat[1] },
        target: { max: 1.2, on: 'ratio', label: '≤ 1.2×' },
      },
      {
        row: 'ldap',
        metric: 'the floor: GetUser p50 of the demo driver (from memory) vs ldapts in the host',
        value: lat[2],
        unit: 'ms',
        baseline: { name: 'ldapts direct', value: lat[1] },
        note: 'a driver call costs this much before any LDAP work',
      },
      {
        row: 'ldap',
        metric: `64 concurrent: ldapts calls/s ÷ driverkit calls/s (driverkit ${Math.round(conc[0])}/s)`,
        value: conc[1],
        unit: 'ratio',
        baseline: { name: `driverkit ${Math.round(conc[0])}/s`, value: conc[0] },
      },
      {
        row: 'ldap',
        metric: `FindUsers over ${BULK} users (all returned, paged by 1000)`,
        value: median(findTimes),
        unit: 'ms',
        baseline: { name: 'ldapts paged search, direct', value: median(directTimes) },
      },
      {
        row: 'ldap',
        metric: `FindUsers over ${BULK} users with groups (a group search each, 32 at a time)`,
        value: median(groupTimes),
        unit: 'ms',
        baseline: {
          name: 'ldapts: paged search, then the group searches 32 at a time',
          value: median(directGroupTimes),
        },
      },
      {
        row: 'ldap',
        metric: `driver peak RSS after FindUsers of ${BULK}`,
        value: peakRssMb(bulk.pid!),
        unit: 'MB',
        note: 'VmHWM of the driver process',
      },
    ];
  } finally {
    await direct.unbind().catch(() => {});
    await Promise.all([users.close(), bulk.close(), floor.close()]);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
