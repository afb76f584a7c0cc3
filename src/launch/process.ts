import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Contract } from '../contracts/contract.js';
import { pidAlive, processStartTime } from '../pid.js';
import { readLines, Tail } from './lines.js';
import type { DriverExit } from './options.js';
import { spawnProcess, type SpawnOptions } from './spawn.js';
import { pidGoneWithin, signalGroup, signalPid, trackGroup } from './terminate.js';

/** How to stop a driver process: asked first, then signalled. */
export interface StopPlan {
  /** false: SIGKILL at once (a start that failed). */
  graceful: boolean;
  /** Asks the driver to exit (GRPCController.Shutdown); given `grace` ms before signals. */
  shutdown?: () => void;
  grace: number;
  /** Milliseconds between SIGTERM and SIGKILL. */
  killTimeout: number;
}

/**
 * One driver process, spawned by this host or running already (reattach): its exit, the
 * tail of its stderr, and the one sequence that stops it. A spawned driver leads its own
 * process group and is signalled as a group; a reattached one is not our child, so only
 * its pid is signalled and, with no exit event to wait for, its pid is watched.
 */
export class DriverProcess {
  /** The last lines of its stderr (empty for a reattached driver: it is not our pipe). */
  readonly tail = new Tail();
  /** Settles when a spawned process exits; for a reattached one, when it is found gone. */
  readonly exited: Promise<DriverExit>;
  exit?: DriverExit;
  #resolveExit!: (e: DriverExit) => void;
  #stderrDone: Promise<void> = Promise.resolve();
  #untrack?: () => void;

  private constructor(
    readonly pid: number,
    readonly child?: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
  }

  /**
   * Spawns `path`. `onStderr` gets each stderr line; `socket` names the socket file to
   * remove if this host exits without closing the driver. Rejects with node's error.
   */
  static async spawn(
    path: string,
    contract: Contract,
    options: SpawnOptions,
    onStderr: (line: string) => void,
    socket: () => string | undefined,
  ): Promise<DriverProcess> {
    const child = spawnProcess(path, contract, options);
    // Node reports some refusals (ENOENT, EACCES) in an 'error' event on a later tick, with no pid.
    if (child.pid === undefined) throw ((await once(child, 'error')) as [Error])[0];
    const p = new DriverProcess(child.pid, child);
    p.#untrack = trackGroup(child.pid, socket);
    child.on('exit', (code, signal) => {
      // The leader was reaped in this very tick: its group is still ours (a group with
      // members left keeps its number), so sweep what it started, then forget the number,
      // which the system may give to anyone's process from now on.
      signalGroup(child.pid!, 'SIGKILL');
      p.#untrack?.();
      p.exit = { code, signal };
      p.#resolveExit(p.exit);
    });
    p.#stderrDone = new Promise((resolve) => child.stderr!.once('end', resolve));
    readLines(child.stderr!, (line) => {
      p.tail.push(line);
      onStderr(line);
    });
    return p;
  }

  /**
   * A driver that runs already, by its pid. Not our child, so no exit event tells when its
   * pid is free for another process: its start time, read now, tells a reused pid apart.
   */
  static attach(pid: number): DriverProcess {
    const p = new DriverProcess(pid);
    p.#startTime = processStartTime(pid);
    return p;
  }

  #startTime?: string;

  /** Whether an attached pid still names the process attached (false once reused or gone). */
  #stillOurs(): boolean {
    return pidAlive(this.pid) && processStartTime(this.pid) === this.#startTime;
  }

  /** Stderr can trail the exit event by a moment; wait for it, but never long. */
  async stderrSettled(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#stderrDone, new Promise((r) => (timer = setTimeout(r, 250)))]);
    clearTimeout(timer);
  }

  /** Whether it still runs (an attached pid: as the same process as at attach). */
  get running(): boolean {
    return this.child ? !this.exit : this.#stillOurs();
  }

  /** An attached pid found gone: how it ended is unknown, and `exited` settles now. */
  markGone(): void {
    if (this.child || this.exit) return;
    this.exit = { code: null, signal: null };
    this.#resolveExit(this.exit);
  }

  /** True once the process is gone, or after `ms` if it is not. */
  async goneWithin(ms: number): Promise<boolean> {
    if (!this.child) return pidGoneWithin(this.pid, ms, () => this.#stillOurs());
    if (this.exit) return true;
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
    clearTimeout(timer);
    return gone;
  }

  /**
   * Stops it: Shutdown and `grace` ms, then SIGTERM and `killTimeout` ms, then SIGKILL.
   * A spawned driver is signalled as a group, swept with SIGKILL the moment its leader
   * exits (see spawn), so nothing it started lives on. Resolves when it is gone.
   */
  async stop(plan: StopPlan): Promise<void> {
    // Signals only while the process is known to be ours: our child before its exit event,
    // an attached pid while its start time is the one read at attach.
    const alive = () => (this.child ? !this.exit : this.#stillOurs());
    const signal = (s: NodeJS.Signals) =>
      alive() && (this.child ? signalGroup(this.pid, s) : signalPid(this.pid, s));
    if (alive()) {
      let gone = false;
      if (plan.graceful && plan.shutdown) {
        plan.shutdown();
        gone = await this.goneWithin(plan.grace);
      }
      if (!gone) {
        signal(plan.graceful ? 'SIGTERM' : 'SIGKILL');
        if (!(await this.goneWithin(plan.killTimeout))) {
          signal('SIGKILL');
          // Our child's exit event is certain after SIGKILL; another's pid is watched a while.
          if (this.child) await this.exited;
          else await this.goneWithin(plan.killTimeout);
        }
      }
    }
    this.#untrack?.();
  }
}
