import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isAlive, waitFor } from './helpers.js';
import { BIN } from './paths.js';

describe('no orphans', () => {
  it('a driver exits within 2 s of its host being SIGKILLed, and removes its socket', async () => {
    const host = spawn(process.execPath, [BIN.host, BIN.demo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let driverPid: number | undefined;
    onTestFinished(() => {
      for (const pid of [host.pid, driverPid]) if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    const info = await new Promise<{ pid: number; address: string }>((resolve, reject) => {
      let out = '';
      host.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      host.on('exit', (code) => reject(new Error(`host exited ${code}`)));
    });
    driverPid = info.pid;
    expect(isAlive(info.pid)).toBe(true);
    const hostGone = new Promise((r) => host.once('exit', r));
    host.kill('SIGKILL');
    await hostGone;
    const t0 = Date.now();
    await waitFor(() => !isAlive(info.pid), 2500, 'the orphaned driver to exit');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(existsSync(info.address)).toBe(false);
  });
});
