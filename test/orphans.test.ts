import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { captureLogger, isAlive, useDriver, waitFor } from './helpers.js';
import { BIN } from './paths.js';

/** Runs the test host on `driverPath`; resolves with what it printed and a way to end it. */
async function runHost(driverPath: string, how: 'wait' | 'exit' | 'throw') {
  const host = spawn(process.execPath, [BIN.host, driverPath, how], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => host.once('exit', r));
  const pids: number[] = [];
  onTestFinished(() => {
    for (const pid of [host.pid!, ...pids]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  const info = await new Promise<{ pid: number; address: string }>((resolve, reject) => {
    let out = '';
    host.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    host.once('exit', (code) => !out.includes('\n') && reject(new Error(`host exited ${code}`)));
  });
  pids.push(info.pid);
  return { host, info, exited, track: (pid: number) => pids.push(pid) };
}

/** A wrapper script that runs the demo driver as its child (no exec), like `sh -c`. */
function shWrapper(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-wrap-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'wrapper.sh');
  writeFileSync(path, `#!/bin/sh\n"${BIN.demo}"\necho "wrapper done" >&2\n`, { mode: 0o755 });
  return path;
}

const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

describe('no orphans', () => {
  it('a driver exits within 2 s of its host being SIGKILLed, and removes its socket', async () => {
    const { host, info, exited } = await runHost(BIN.demo, 'wait');
    expect(isAlive(info.pid)).toBe(true);
    host.kill('SIGKILL');
    await exited;
    const t0 = Date.now();
    await waitFor(() => !isAlive(info.pid), 2500, 'the orphaned driver to exit');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(existsSync(info.address)).toBe(false);
  });

  it.each(['exit', 'throw'] as const)('a host that ends without closing (%s) takes its driver along', async (how) => {
    const { info, exited } = await runHost(BIN.demo, how);
    await exited;
    await waitFor(() => !isAlive(info.pid), 2000, 'the driver to be gone');
  });

  it('a driver behind a sh wrapper exits within 2 s of its host being SIGKILLed', async () => {
    const { host, info, exited, track } = await runHost(shWrapper(), 'wait');
    const [driverPid] = childrenOf(info.pid);
    track(driverPid);
    expect(isAlive(driverPid)).toBe(true);
    host.kill('SIGKILL');
    await exited;
    // Its parent (the wrapper) lives on, so only the host pid tells the driver to go.
    await waitFor(() => !isAlive(driverPid), 2000, 'the wrapped driver to exit');
    await waitFor(() => !isAlive(info.pid), 2000, 'the wrapper to exit');
  });

  it('close() stops the real driver behind a sh wrapper, not only the wrapper', async () => {
    const driver = useDriver({ name: 'wrapped', path: shWrapper(), contract: userprovider, logger: captureLogger() });
    await driver.ready;
    const [driverPid] = childrenOf(driver.pid!);
    expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    await driver.close();
    await waitFor(() => !isAlive(driverPid), 2000, 'the wrapped driver to exit');
  });
});

describe('socket files', () => {
  it('do not pile up in the temp dir across the ways a driver can end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-sockets-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const env = { PLUGIN_UNIX_SOCKET_DIR: dir };
    // Closed normally; killed hard by the test; its host exits without closing it.
    const closed = useDriver({ name: 'closed', path: BIN.demo, contract: userprovider, env, logger: captureLogger() });
    await closed.ready;
    await closed.close();
    const killed = useDriver({ name: 'killed', path: BIN.demo, contract: userprovider, env, logger: captureLogger() });
    await killed.ready;
    process.kill(killed.pid!, 'SIGKILL');
    await killed.exited;
    await killed.close();
    const host = spawn(process.execPath, [BIN.host, BIN.demo, 'exit'], { stdio: 'ignore', env: { ...process.env, ...env } });
    await new Promise((r) => host.once('exit', r));
    expect(readdirSync(dir)).toEqual([]);
  });
});
