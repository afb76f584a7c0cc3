// The driver's look at its host, on fake timers: the "exit within 2 s" promise held without
// wall-clock bounds (test/orphans.test.ts checks the same end to end, with real processes).
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchHost } from '../src/driver/host-watch.js';

afterEach(() => void vi.useRealTimers());

describe('host watch', () => {
  it('notices a host pid that died within the promised 2 s, once', () => {
    // A process that ran and was reaped: its pid is dead.
    const dead = spawnSync('true').pid;
    vi.useFakeTimers();
    const gone = vi.fn();
    const stop = watchHost(gone, dead);
    vi.advanceTimersByTime(2000);
    expect(gone).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(gone).toHaveBeenCalledTimes(1);
    stop();
  });

  it('stays quiet while the host lives and its parent is unchanged', () => {
    vi.useFakeTimers();
    const gone = vi.fn();
    const stop = watchHost(gone, process.pid);
    vi.advanceTimersByTime(10_000);
    expect(gone).not.toHaveBeenCalled();
    stop();
  });
});
