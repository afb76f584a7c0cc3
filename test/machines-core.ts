// Machines for the tests and the bench: Linux network namespaces on one bridge, each with an address of
// 10.213.N.0/24 and a hosts file of its own (/etc/netns/NAME/hosts). The test's own
// namespace joins the bridge too (at .1), so the test can call what runs inside. Everything
// made is removed at the end, also when the test fails. Needs root and `ip netns`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/** Whether this machine can make namespaces (root, iproute2); the tests skip, not pass, otherwise. */
export const canMakeMachines = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = `dkprobe${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
})();

export interface Machines {
  /** Removes every namespace, link and /etc/netns entry made. */
  remove(): void;
  /** Each machine's address, by name. */
  address: Record<string, string>;
  /** The namespace of a machine, for `ip netns exec`. */
  ns(name: string): string;
  /** The command line that runs `argv` on machine `name`. */
  exec(name: string, argv: string[]): [string, string[]];
  /** Cuts a machine's link (a partition), or puts it back (the heal). */
  link(name: string, up: boolean): void;
  /** Writes a machine's hosts file (`multi on`: a name on several lines resolves to all). */
  hosts(name: string, entries: Array<[string, string]>): void;
}

let next = 0;

/** Makes the machines named, on one fresh subnet; `remove()` undoes it (done here if making fails). */
export function makeMachines(names: string[]): Machines {
  const id = `${process.pid % 10000}${next++}`;
  const subnet = `10.213.${(process.pid + next) % 250}`;
  const sw = `dksw${id}`;
  const ns = (name: string) => `dk${id}${name}`;
  const made: string[] = [];
  const cleanup = () => {
    for (const n of made.splice(0).reverse()) {
      try {
        ip('netns', 'del', n);
      } catch {}
      rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
    }
  };
  try {
    return build();
  } catch (err) {
    cleanup();
    throw err;
  }
  function build(): Machines {
    const inNs = (n: string, ...args: string[]) => ip('-n', n, ...args);
    ip('netns', 'add', sw);
    made.push(sw);
    inNs(sw, 'link', 'add', 'br0', 'type', 'bridge');
    inNs(sw, 'link', 'set', 'br0', 'up');
    const address: Record<string, string> = {};
    const plug = (n: string | undefined, host: number, name: string) => {
      const outer = `v${id}${host}`;
      const inner = `e${id}${host}`;
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
      ip('link', 'set', outer, 'netns', sw);
      inNs(sw, 'link', 'set', outer, 'master', 'br0', 'up');
      const where = n ? ['-n', n] : [];
      if (n) ip('link', 'set', inner, 'netns', n);
      ip(...where, 'addr', 'add', `${subnet}.${host}/24`, 'dev', inner);
      ip(...where, 'link', 'set', inner, 'up');
      if (n) ip(...where, 'link', 'set', 'lo', 'up');
      address[name] = `${subnet}.${host}`;
    };
    // The test's namespace: its end goes when the switch namespace does.
    plug(undefined, 1, 'test');
    names.forEach((name, i) => {
      ip('netns', 'add', ns(name));
      made.push(ns(name));
      plug(ns(name), i + 2, name);
    });
    return {
      remove: cleanup,
      address,
      ns,
      exec: (name, argv) => ['ip', ['netns', 'exec', ns(name), ...argv]],
      link: (name, up) =>
        inNs(sw, 'link', 'set', `v${id}${names.indexOf(name) + 2}`, up ? 'up' : 'down'),
      hosts: (name, entries) => {
        const dir = `/etc/netns/${ns(name)}`;
        mkdirSync(dir, { recursive: true });
        // Written in place: a running process sees the file through its bind mount.
        writeFileSync(
          `${dir}/hosts`,
          `127.0.0.1 localhost\n${entries.map(([n, a]) => `${a} ${n}`).join('\n')}\n`,
        );
        writeFileSync(`${dir}/host.conf`, 'multi on\n');
      },
    };
  }
}
